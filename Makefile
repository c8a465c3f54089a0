# The two set-up commands of the README. Each installs what it needs (apt packages, a virtual
# environment with every Python dependency) and then runs: `make demo` or `make test`.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PIP := $(VENV)/bin/pip
# open_clip needs torchvision; these two builds import together on CPU-only x86_64 machines.
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
# libusb: open3d's shared library links it. python3-venv: Debian's Python has no ensurepip without it.
# gcc, g++ and python3-dev: the ROS 2 environment compiles its tf2_msgs (see ros-env).
APT_PACKAGES ?= libusb-1.0-0 python3-venv gcc g++ python3-dev
HAS_PYTHON_HEADERS := import os, sys, sysconfig; sys.exit(not os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test setup system-deps ros-env clean

demo: setup
	$(VENV)/bin/mem3d demo

# The ROS 2 graph tests run the bridge in .venv-ros, so a clean clone builds it first (about 45 s here).
test: setup ros-env
	$(VENV)/bin/python -m pytest

setup: system-deps $(VENV)/.ready

system-deps:
	@if ! ldconfig -p | grep -q 'libusb-1.0.so.0' || ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null \
	  || ! command -v gcc >/dev/null || ! command -v g++ >/dev/null || ! $(PYTHON) -c '$(HAS_PYTHON_HEADERS)'; then \
	  echo "installing $(APT_PACKAGES) with apt-get"; \
	  $(SUDO) apt-get install -y --no-install-recommends $(APT_PACKAGES) \
	  || { $(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends $(APT_PACKAGES); }; \
	fi

$(VENV)/.ready: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_PINS)
	$(PIP) install --quiet -e '.[all,dev]'
	touch $@

# ROS 2 (kilted) from PyPI wheels, in its own environment: one of its packages installs a .pth that
# re-executes every Python process of the environment with another LD_LIBRARY_PATH. The wheels have
# no tf2_msgs: it is generated and compiled into the environment with the wheels' rosidl (a few seconds).
ROS_VENV ?= .venv-ros
ROS_PACKAGES ?= ros-rclpy[fastrtps] ros-sensor-msgs ros-std-msgs ros-std-srvs ros-geometry-msgs ros-nav-msgs \
	ros-visualization-msgs

ros-env: $(ROS_VENV)/.ready

$(ROS_VENV)/.ready: pyproject.toml Makefile
	$(PYTHON) -m venv $(ROS_VENV)
	$(ROS_VENV)/bin/pip install --quiet --upgrade pip
	$(ROS_VENV)/bin/pip install --quiet $(foreach p,$(ROS_PACKAGES),'$(p)')
	$(ROS_VENV)/bin/pip install --quiet -e '.[ros]'
	$(ROS_VENV)/bin/python ros_bridge/interfaces/build_tf2_msgs.py \
	  || echo "tf2_msgs was not built (it needs gcc, g++ and the Python headers: apt-get install gcc g++ python3-dev): the bridge takes poses from a pose topic only"
	touch $@

clean:
	rm -rf $(VENV) $(ROS_VENV) .pytest_cache
