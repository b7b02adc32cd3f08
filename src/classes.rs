//! The class table: verisim's semantic classes and their counterparts in KITTI, Cityscapes and
//! SemanticKITTI. `semantic_2/*.png` stores the verisim id; `velodyne_labels/*.label` stores the
//! SemanticKITTI id in the low 16 bits (so SemanticKITTI tools read it as-is).

/// A verisim semantic class id (stored in `semantic_2` PNGs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u16)]
pub enum Class {
    Unlabeled = 0,
    Road = 1,
    Sidewalk = 2,
    LaneMarking = 3,
    Crosswalk = 4,
    Building = 5,
    Wall = 6,
    Pole = 7,
    TrafficSign = 8,
    TrafficLight = 9,
    Vegetation = 10,
    Trunk = 11,
    Terrain = 12,
    Sky = 13,
    Car = 14,
    Van = 15,
    Truck = 16,
    Bus = 17,
    Pedestrian = 18,
    Cyclist = 19,
    /// Lidar returns from fog droplets (reserved for weather returns).
    Fog = 20,
    /// Lidar returns from raindrops.
    Rain = 21,
    /// Lidar returns from snowflakes.
    Snow = 22,
}

/// One row of the class table.
#[derive(Clone, Copy, Debug)]
pub struct ClassInfo {
    pub class: Class,
    pub name: &'static str,
    /// KITTI object type written in label_2, or "-" for stuff classes.
    pub kitti_type: &'static str,
    /// Cityscapes label id (255 = no counterpart).
    pub cityscapes_id: u8,
    /// SemanticKITTI label id; weather classes use ids outside SemanticKITTI's table.
    pub semantic_kitti_id: u16,
}

const fn row(
    class: Class,
    name: &'static str,
    kitti_type: &'static str,
    cityscapes_id: u8,
    semantic_kitti_id: u16,
) -> ClassInfo {
    ClassInfo {
        class,
        name,
        kitti_type,
        cityscapes_id,
        semantic_kitti_id,
    }
}

/// The whole table, indexed by class id.
pub const CLASSES: [ClassInfo; 23] = [
    row(Class::Unlabeled, "unlabeled", "-", 0, 0),
    row(Class::Road, "road", "-", 7, 40),
    row(Class::Sidewalk, "sidewalk", "-", 8, 48),
    row(Class::LaneMarking, "lane-marking", "-", 7, 60),
    row(Class::Crosswalk, "crosswalk", "-", 7, 60),
    row(Class::Building, "building", "-", 11, 50),
    row(Class::Wall, "wall", "-", 12, 52),
    row(Class::Pole, "pole", "-", 17, 80),
    row(Class::TrafficSign, "traffic-sign", "-", 20, 81),
    row(Class::TrafficLight, "traffic-light", "-", 19, 99),
    row(Class::Vegetation, "vegetation", "-", 21, 70),
    row(Class::Trunk, "trunk", "-", 21, 71),
    row(Class::Terrain, "terrain", "-", 22, 72),
    row(Class::Sky, "sky", "-", 23, 0),
    row(Class::Car, "car", "Car", 26, 10),
    row(Class::Van, "van", "Van", 26, 20),
    row(Class::Truck, "truck", "Truck", 27, 18),
    row(Class::Bus, "bus", "Misc", 28, 13),
    row(Class::Pedestrian, "pedestrian", "Pedestrian", 24, 30),
    row(Class::Cyclist, "cyclist", "Cyclist", 25, 31),
    row(Class::Fog, "fog", "-", 255, 110),
    row(Class::Rain, "rain", "-", 255, 111),
    row(Class::Snow, "snow", "-", 255, 112),
];

impl Class {
    pub fn id(self) -> u16 {
        self as u16
    }

    pub fn from_id(id: u16) -> Option<Class> {
        CLASSES.get(id as usize).map(|r| r.class)
    }

    pub fn info(self) -> &'static ClassInfo {
        &CLASSES[self as usize]
    }

    /// Classes that are objects with a 3D box in label_2.
    pub fn is_object(self) -> bool {
        matches!(
            self,
            Class::Car
                | Class::Van
                | Class::Truck
                | Class::Bus
                | Class::Pedestrian
                | Class::Cyclist
        )
    }
}

/// The table as CSV (`verisim classes`).
pub fn table_csv() -> String {
    let mut out = String::from("id,name,kitti_type,cityscapes_id,semantic_kitti_id\n");
    for r in CLASSES.iter() {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            r.class.id(),
            r.name,
            r.kitti_type,
            r.cityscapes_id,
            r.semantic_kitti_id
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_indexed_by_id() {
        for (i, r) in CLASSES.iter().enumerate() {
            assert_eq!(r.class.id() as usize, i, "row {i} is {}", r.name);
            assert_eq!(Class::from_id(i as u16), Some(r.class));
        }
        assert_eq!(Class::from_id(CLASSES.len() as u16), None);
    }

    #[test]
    fn shader_class_ids_are_the_table_ids() {
        use crate::abi::shared as s;
        let pairs = [
            (s::CLASS_ROAD, Class::Road),
            (s::CLASS_SIDEWALK, Class::Sidewalk),
            (s::CLASS_LANE, Class::LaneMarking),
            (s::CLASS_CROSSWALK, Class::Crosswalk),
            (s::CLASS_BUILDING, Class::Building),
            (s::CLASS_VEGETATION, Class::Vegetation),
            (s::CLASS_TERRAIN, Class::Terrain),
            (s::CLASS_SKY, Class::Sky),
            (s::CLASS_FOG, Class::Fog),
            (s::CLASS_RAIN, Class::Rain),
            (s::CLASS_SNOW, Class::Snow),
        ];
        for (id, class) in pairs {
            assert_eq!(id, u32::from(class.id()), "{class:?}");
        }
    }

    #[test]
    fn csv_has_a_line_per_class_and_reserves_weather() {
        let csv = table_csv();
        assert_eq!(csv.lines().count(), CLASSES.len() + 1);
        for w in ["fog", "rain", "snow"] {
            assert!(
                csv.lines().any(|l| l.split(',').nth(1) == Some(w)),
                "{w} missing"
            );
        }
    }
}
