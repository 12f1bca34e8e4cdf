"""Performance tools: `resemote bench` (`bench`), one GPU call's calibration (`gpucalib`) and its planner
(`gpuplan`)."""
