"""Loads a verisim nuScenes export with the official nuscenes-devkit, as a user would:
every sample, every annotation's box, the points inside each box against num_lidar_pts, and
one sample's boxes rendered into its image. Prints a JSON summary.

Usage: python nuscenes_devkit.py DATAROOT OUT.png
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import LidarPointCloud
from nuscenes.utils.geometry_utils import BoxVisibility, points_in_box

root, out = sys.argv[1], sys.argv[2]
nusc = NuScenes(version="v1.0-verisim", dataroot=root, verbose=False)
samples = anns = 0
for s in nusc.sample:
    samples += 1
    lidar = nusc.get("sample_data", s["data"]["LIDAR_TOP"])
    pc = LidarPointCloud.from_file(os.path.join(root, lidar["filename"]))
    assert pc.points.shape[0] == 4 and pc.points.shape[1] > 0
    # Boxes in the lidar frame (through ego pose and calibrated sensor), in annotation order.
    _, boxes, _ = nusc.get_sample_data(lidar["token"])
    assert len(boxes) == len(s["anns"])
    for b, a in zip(boxes, s["anns"]):
        box = nusc.get_box(a)
        assert np.all(np.isfinite(box.center)) and np.all(box.wlh > 0)
        rec = nusc.get("sample_annotation", a)
        n = int(points_in_box(b, pc.points[:3, :]).sum())
        assert abs(n - rec["num_lidar_pts"]) <= max(1, 0.05 * rec["num_lidar_pts"]), (a, n, rec["num_lidar_pts"])
        anns += 1
cam = nusc.sample[0]["data"]["CAM_FRONT"]
_, cam_boxes, K = nusc.get_sample_data(cam, box_vis_level=BoxVisibility.ANY)
nusc.render_sample_data(cam, out_path=out, verbose=False)
print(json.dumps({
    "scenes": len(nusc.scene),
    "samples": samples,
    "sample_data": len(nusc.sample_data),
    "anns": anns,
    "boxes_in_front_camera": len(cam_boxes),
}))
