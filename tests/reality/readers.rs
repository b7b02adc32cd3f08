//! Readers: round trips through every supported format, real files, and clear errors (path and
//! byte offset or line) on truncated, corrupt or lying files.

use std::io::Write;
use std::path::{Path, PathBuf};
use verisim::reality::RealityError;
use verisim::reality::dataset::{Dataset, Layout};
use verisim::reality::readers::*;

fn real_root() -> PathBuf {
    std::env::var_os("VERISIM_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real"))
}

fn sample() -> Vec<[f32; 4]> {
    vec![
        [1.5, -2.0, 0.25, 0.5],
        [10.0, 20.0, -1.0, 0.0],
        [-3.0, 4.0, 2.0, 0.99],
    ]
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
    p
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn real_kitti_and_nuscenes_files_read() {
    let k = real_root().join("kitti_object_openpcdet/training");
    let pc = read_lidar(&k.join("velodyne/000000.bin")).unwrap();
    assert_eq!(pc.points.len(), 115_384);
    assert!(pc.ring.is_none());
    let labels = read_kitti_labels(&k.join("label_2/000001.txt")).unwrap();
    assert_eq!(labels.len(), 7);
    assert_eq!(labels[0].class, "Truck");
    let calib = read_kitti_calib(&k.join("calib/000000.txt")).unwrap();
    assert_eq!(calib["P2"].len(), 12);
    assert_eq!(calib["R0_rect"].len(), 9);
    let img = read_rgb(&k.join("image_2/000000.png")).unwrap();
    assert_eq!((img.width(), img.height()), (1224, 370));
    let nus = real_root().join("nuscenes_mmdet3d_demo");
    let f = std::fs::read_dir(&nus)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".pcd.bin"))
        .unwrap();
    let pc = read_lidar(&f).unwrap();
    assert_eq!(pc.points.len(), 34_688);
    let ring = pc.ring.unwrap();
    assert_eq!(*ring.iter().max().unwrap(), 31);
    let ds = Dataset::open(&nus).unwrap();
    assert_eq!(ds.inferred_sensor().beams(), 32);
    assert_eq!(ds.frames.iter().filter(|f| f.image.is_some()).count(), 6);
    assert!(
        ds.frames
            .iter()
            .all(|f| f.drive.as_deref() == Some("n015-2018-07-24-11-22-45+0800"))
    );
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn kitti_layouts_are_discovered() {
    let root = real_root().join("kitti_object_openpcdet");
    let a = Dataset::open(&root).unwrap();
    let b = Dataset::open(&root.join("training")).unwrap();
    assert_eq!(a.layout, Layout::Kitti);
    assert_eq!(a.frames.len(), 6);
    assert_eq!(a.frames, b.frames);
    assert!(
        a.frames.iter().all(|f| f.lidar.is_some()
            && f.image.is_some()
            && f.label.is_some()
            && f.calib.is_some())
    );
    // a single velodyne file brings its siblings along
    let one = Dataset::from_files(&[root.join("training/velodyne/000002.bin")]).unwrap();
    assert!(one.frames[0].calib.is_some() && one.frames[0].image.is_some());
}

fn pcd_header(data: &str, n: usize) -> String {
    format!(
        "# .PCD v0.7\nVERSION 0.7\nFIELDS x y z intensity\nSIZE 4 4 4 4\nTYPE F F F F\nCOUNT 1 1 1 1\nWIDTH {n}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {data}\n"
    )
}

#[test]
fn pcd_ascii_binary_and_compressed_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let pts = sample();
    let mut ascii = pcd_header("ascii", pts.len());
    for p in &pts {
        ascii += &format!("{} {} {} {}\n", p[0], p[1], p[2], p[3]);
    }
    let pa = write(dir.path(), "a.pcd", ascii.as_bytes());
    assert_eq!(read_lidar(&pa).unwrap().points, pts);

    let mut bin = pcd_header("binary", pts.len()).into_bytes();
    for p in &pts {
        for v in p {
            bin.extend(v.to_le_bytes());
        }
    }
    let pb = write(dir.path(), "b.pcd", &bin);
    assert_eq!(read_lidar(&pb).unwrap().points, pts);

    // binary_compressed: field-major, LZF (enough points for LZF to find repeats)
    let pts: Vec<[f32; 4]> = sample().into_iter().cycle().take(300).collect();
    let mut raw = Vec::new();
    for f in 0..4 {
        for p in &pts {
            raw.extend(p[f].to_le_bytes());
        }
    }
    let comp = lzf::compress(&raw).expect("compressible");
    let mut bc = pcd_header("binary_compressed", pts.len()).into_bytes();
    bc.extend((comp.len() as u32).to_le_bytes());
    bc.extend((raw.len() as u32).to_le_bytes());
    bc.extend(&comp);
    let pc = write(dir.path(), "c.pcd", &bc);
    assert_eq!(read_lidar(&pc).unwrap().points, pts);
}

#[test]
fn pcd_header_claiming_more_points_than_the_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut bin = pcd_header("binary", 1000).into_bytes();
    let header_len = bin.len();
    bin.extend([0u8; 16 * 3]);
    let p = write(dir.path(), "lie.pcd", &bin);
    match read_lidar(&p) {
        Err(RealityError::Corrupt { path, offset, what }) => {
            assert_eq!(path, p);
            assert_eq!(offset as usize, header_len + 48);
            assert!(what.contains("POINTS 1000"), "{what}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let mut ascii = pcd_header("ascii", 5);
    ascii += "1 2 3 0.5\n";
    let p = write(dir.path(), "short.pcd", ascii.as_bytes());
    assert!(matches!(read_lidar(&p), Err(RealityError::Corrupt { .. })));
    let mut bad = pcd_header("ascii", 1);
    bad += "1 2 x 0.5\n";
    let p = write(dir.path(), "bad.pcd", bad.as_bytes());
    match read_lidar(&p) {
        Err(RealityError::Parse { line, .. }) => assert_eq!(line, 12),
        other => panic!("{other:?}"),
    }
}

#[test]
fn truncated_kitti_bin_names_the_offset() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "000000.bin", &[0u8; 16 * 5 + 7]);
    let e = read_lidar(&p).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("000000.bin") && msg.contains("byte offset 80"),
        "{msg}"
    );
    let p = write(dir.path(), "x.pcd.bin", &[0u8; 20 * 2 + 4]);
    assert!(
        read_lidar(&p)
            .unwrap_err()
            .to_string()
            .contains("byte offset 40")
    );
}

#[test]
fn ply_ascii_and_binary_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let pts = sample();
    let head = |fmt: &str| {
        format!(
            "ply\nformat {fmt} 1.0\ncomment test\nelement vertex {}\nproperty float x\nproperty float y\nproperty float z\nproperty float intensity\nproperty uchar ring\nend_header\n",
            pts.len()
        )
    };
    let mut a = head("ascii");
    for (i, p) in pts.iter().enumerate() {
        a += &format!("{} {} {} {} {i}\n", p[0], p[1], p[2], p[3]);
    }
    let pa = write(dir.path(), "a.ply", a.as_bytes());
    let got = read_lidar(&pa).unwrap();
    assert_eq!(got.points, pts);
    assert_eq!(got.ring.unwrap(), vec![0, 1, 2]);
    for (fmt, le) in [("binary_little_endian", true), ("binary_big_endian", false)] {
        let mut b = head(fmt).into_bytes();
        for (i, p) in pts.iter().enumerate() {
            for v in p {
                b.extend(if le { v.to_le_bytes() } else { v.to_be_bytes() });
            }
            b.push(i as u8);
        }
        let pb = write(dir.path(), "b.ply", &b);
        assert_eq!(read_lidar(&pb).unwrap().points, pts);
        b.truncate(b.len() - 5);
        let pb = write(dir.path(), "t.ply", &b);
        assert!(matches!(read_lidar(&pb), Err(RealityError::Corrupt { .. })));
    }
}

#[test]
fn labels_and_calib_errors_name_the_line() {
    let p = Path::new("label.txt");
    let e = parse_kitti_labels(
        p,
        "Car 0 0 0 1 2 3 4 1 1 1 1 1 1 0\nCar 0 0 zero 1 2 3 4 1 1 1 1 1 1 0\n",
    )
    .unwrap_err();
    assert!(matches!(e, RealityError::Parse { line: 2, .. }), "{e}");
    let e = parse_kitti_labels(p, "Car 0 0\n").unwrap_err();
    assert!(e.to_string().contains("line 1"));
    let e = parse_kitti_calib(p, "P2: 1 2 3\n").unwrap_err();
    assert!(e.to_string().contains("expected 12"));
}

#[test]
fn non_image_png_is_an_image_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "000000.png", b"this is not a png");
    let e = read_rgb(&p).unwrap_err();
    assert!(matches!(e, RealityError::Image { .. }));
    assert!(e.to_string().contains("000000.png"));
}
