//! Coordinates and great-circle distance, used to prefer the warehouse nearest the
//! customer. Haversine is precise enough to rank warehouses; we never route with it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLon {
    pub latitude: f64,
    pub longitude: f64,
}

const EARTH_RADIUS_KM: f64 = 6371.0;

impl LatLon {
    /// Distance in kilometres along the earth's surface.
    pub fn distance_km(self, other: LatLon) -> f64 {
        let (lat1, lat2) = (self.latitude.to_radians(), other.latitude.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.longitude - self.longitude).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_york_to_los_angeles_is_about_3940_km() {
        let nyc = LatLon {
            latitude: 40.7128,
            longitude: -74.0060,
        };
        let la = LatLon {
            latitude: 34.0522,
            longitude: -118.2437,
        };
        let d = nyc.distance_km(la);
        assert!((3930.0..3950.0).contains(&d), "{d}");
        assert_eq!(nyc.distance_km(nyc), 0.0);
    }
}
