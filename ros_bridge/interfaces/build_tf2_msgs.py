"""Build and install ``tf2_msgs`` (TFMessage only) into the running ROS 2 wheel environment.

The PyPI ROS 2 wheels ship no ``tf2_msgs``, so the bridge could not subscribe to /tf and /tf_static.
This runs the rosidl generators of the wheels (C, Python, and the C / Fast DDS / introspection type
supports) on ``tf2_msgs/msg/TFMessage.idl`` beside this file, compiles the output with the system's
gcc / g++ against the wheels' headers and libraries, and installs the result into ``sys.prefix``
(``lib/``, ``site-packages/tf2_msgs``, ``share/tf2_msgs``). Run with the environment's interpreter:
``.venv-ros/bin/python ros_bridge/interfaces/build_tf2_msgs.py`` (``make ros-env`` does).

The generators are called directly rather than through ``rosidl generate``: the wheels register
each generator's entry point twice, which the CLI refuses, and the .msg -> .idl translation needs
``catkin_pkg``, so the .idl is written by hand.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import tempfile

PACKAGE = "tf2_msgs"
HERE = pathlib.Path(__file__).resolve().parent
PREFIX = pathlib.Path(sys.prefix)
LIB = PREFIX / "lib"
SITE = pathlib.Path(sysconfig.get_paths()["purelib"])
DEPENDENCIES = ("geometry_msgs", "std_msgs", "builtin_interfaces")


def generate(out: pathlib.Path) -> None:
    """Run the rosidl generators into ``out/{c,py,ts_c,ts_fastrtps_c,ts_introspection_c}``."""
    from rosidl_generator_c.cli import GenerateC
    from rosidl_generator_py.cli import GeneratePython
    from rosidl_typesupport_c.cli import GenerateCTypesupport
    from rosidl_typesupport_fastrtps_c.cli import GenerateFastRTPSCTypesupport
    from rosidl_typesupport_introspection_c.cli import GenerateIntrospectionCTypesupport

    files, includes = [f"{HERE / PACKAGE}:msg/TFMessage.idl"], [str(PREFIX / "share")]
    GenerateC("c").generate(PACKAGE, files, includes, out / "c")
    GeneratePython("py", typesupport_implementations=["rosidl_typesupport_c"]).generate(
        PACKAGE, files, includes, out / "py")
    for extension, name in ((GenerateCTypesupport, "ts_c"), (GenerateFastRTPSCTypesupport, "ts_fastrtps_c"),
                            (GenerateIntrospectionCTypesupport, "ts_introspection_c")):
        extension(name).generate(PACKAGE, files, includes, out / name)


def headers(out: pathlib.Path) -> pathlib.Path:
    """One include tree ``<root>/tf2_msgs/msg/...`` of every generated header; its root."""
    root = out / "include"
    for part in ("c", "ts_fastrtps_c", "ts_introspection_c"):
        for header in (out / part).rglob("*.h"):
            target = root / PACKAGE / header.relative_to(out / part)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(header, target)
    return root


def compile_library(name: str, sources: list[pathlib.Path], includes: list[pathlib.Path], libraries: list[str],
                    target: pathlib.Path) -> None:
    """Compile ``sources`` (C or C++ by suffix) into the shared library ``target``."""
    cpp = any(s.suffix == ".cpp" for s in sources)
    command = ["g++" if cpp else "gcc", "-shared", "-fPIC", "-O2", *(["-std=c++17"] if cpp else []),
               *(f"-I{i}" for i in includes), *map(str, sources), "-o", str(target),
               f"-L{LIB}", f"-Wl,-rpath,{LIB}", *libraries]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"building {name} failed:\n{' '.join(command)}\n{done.stderr[-4000:]}")


def build(out: pathlib.Path) -> None:
    import numpy

    own = headers(out)
    includes = [own, PREFIX / "include", *sorted(p for p in (PREFIX / "include").iterdir() if p.is_dir()),
                pathlib.Path(sysconfig.get_paths()["include"]), pathlib.Path(numpy.get_include())]
    fastcdr = next(LIB.glob("libfastcdr.so.*"))
    lib = f"lib{PACKAGE}__"
    per_dependency = {kind: [f"-l{d}__{kind}" for d in DEPENDENCIES]
                      for kind in ("rosidl_generator_c", "rosidl_typesupport_fastrtps_c",
                                   "rosidl_typesupport_introspection_c", "rosidl_generator_py")}
    detail = out / "c" / "msg" / "detail"
    compile_library("C structures", sorted(detail.glob("*.c")), includes,
                    [*per_dependency["rosidl_generator_c"], "-lrosidl_runtime_c", "-lrcutils"],
                    LIB / f"{lib}rosidl_generator_c.so")
    compile_library("Fast DDS type support", sorted((out / "ts_fastrtps_c").rglob("*.cpp")), includes,
                    [f"-l{PACKAGE}__rosidl_generator_c", *per_dependency["rosidl_typesupport_fastrtps_c"],
                     *per_dependency["rosidl_generator_c"], "-lrosidl_typesupport_fastrtps_c",
                     "-lrosidl_typesupport_fastrtps_cpp", "-lrosidl_runtime_c", "-lrcutils", f"-l:{fastcdr.name}"],
                    LIB / f"{lib}rosidl_typesupport_fastrtps_c.so")
    compile_library("introspection type support", sorted((out / "ts_introspection_c").rglob("*.c")), includes,
                    [f"-l{PACKAGE}__rosidl_generator_c", *per_dependency["rosidl_typesupport_introspection_c"],
                     "-lrosidl_typesupport_introspection_c", "-lrosidl_runtime_c"],
                    LIB / f"{lib}rosidl_typesupport_introspection_c.so")
    compile_library("C type support", sorted((out / "ts_c").rglob("*.cpp")), includes,
                    [f"-l{PACKAGE}__rosidl_generator_c", "-lrosidl_typesupport_c", "-lrosidl_runtime_c", "-lrcpputils",
                     "-lrcutils"], LIB / f"{lib}rosidl_typesupport_c.so")
    compile_library("Python conversions", sorted((out / "py" / "msg").glob("*_s.c")), includes,
                    [f"-l{PACKAGE}__rosidl_generator_c", *per_dependency["rosidl_generator_py"],
                     *per_dependency["rosidl_generator_c"], "-lrosidl_runtime_c", "-lrcutils"],
                    LIB / f"{lib}rosidl_generator_py.so")
    package = SITE / PACKAGE
    shutil.rmtree(package, ignore_errors=True)
    (package / "msg").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for source in (out / "py" / "msg").glob("*.py"):
        shutil.copy2(source, package / "msg" / source.name)
    compile_library("Python type support module", [out / "py" / f"_{PACKAGE}_s.ep.rosidl_typesupport_c.c"], includes,
                    [f"-l{PACKAGE}__rosidl_generator_py", f"-l{PACKAGE}__rosidl_typesupport_c",
                     f"-l{PACKAGE}__rosidl_generator_c", "-lrosidl_runtime_c", "-lrcutils"],
                    package / f"{PACKAGE}_s__rosidl_typesupport_c.so")
    share = PREFIX / "share" / PACKAGE / "msg"
    share.mkdir(parents=True, exist_ok=True)
    shutil.copy2(HERE / PACKAGE / "msg" / "TFMessage.idl", share)
    shutil.copy2(HERE / PACKAGE / "msg" / "TFMessage.msg", share)
    index = PREFIX / "share" / "ament_index" / "resource_index"
    for kind, text in (("packages", ""), ("rosidl_interfaces", "msg/TFMessage.idl\nmsg/TFMessage.msg\n")):
        (index / kind).mkdir(parents=True, exist_ok=True)
        (index / kind / PACKAGE).write_text(text)


def main() -> int:
    os.environ.setdefault("AMENT_PREFIX_PATH", str(PREFIX))
    with tempfile.TemporaryDirectory(prefix="mem3d-tf2-msgs-") as tmp:
        out = pathlib.Path(tmp)
        generate(out)
        build(out)
    print(f"tf2_msgs built into {PREFIX}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
