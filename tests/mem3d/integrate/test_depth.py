import numpy as np

from mem3d.integrate.depth import downsample_min


def test_downsample_min_keeps_the_nearest_valid_depth_of_each_block():
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.5, 5.0, (61, 83)).astype(np.float32)
    depth[rng.random(depth.shape) < 0.2] = 0.0
    depth[rng.random(depth.shape) < 0.05] = np.nan
    depth[:4, :4] = 0.0  # a block with no valid pixel
    small = downsample_min(depth, 4)
    assert small.shape == (15, 20) and small.dtype == np.float32
    for i in range(15):
        for j in range(20):
            block = depth[4 * i:4 * i + 4, 4 * j:4 * j + 4]
            valid = block[np.isfinite(block) & (block > 0)]
            assert small[i, j] == (valid.min() if valid.size else 0.0)
    assert small[0, 0] == 0.0
    assert np.array_equal(downsample_min(np.nan_to_num(depth), 1), np.nan_to_num(depth))
