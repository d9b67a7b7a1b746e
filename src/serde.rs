//! `Serialize` and `Deserialize` for the configurations and reports (the `serde`
//! feature), e.g. to keep hyper-parameters in a JSON file on the host or to collect
//! training reports. Field names are the Rust ones; enums use serde's default
//! (externally tagged) form.
//!
//! A deserialized configuration is checked where it is used (`set_config`,
//! `Schedule::lr`, `Watchdog::new`), as one built in code is.

use ::serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::optim::{AdamConfig, Decay, Schedule, SgdConfig};
use crate::{
    EpochReport, Evaluation, Footprint, Init, Remainder, ScalarKind, WatchdogConfig, WatchdogStats,
};

/// `Serialize` and `Deserialize` for `$ty` through the remote definition `$def`.
macro_rules! via_remote {
    ($ty:ident<$s:ident>, $def:ident) => {
        impl<$s: Serialize> Serialize for $ty<$s> {
            fn serialize<Se: Serializer>(&self, serializer: Se) -> Result<Se::Ok, Se::Error> {
                $def::serialize(self, serializer)
            }
        }
        impl<'de, $s: Deserialize<'de>> Deserialize<'de> for $ty<$s> {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $def::deserialize(deserializer)
            }
        }
    };
    ($ty:ident, $def:ident) => {
        impl Serialize for $ty {
            fn serialize<Se: Serializer>(&self, serializer: Se) -> Result<Se::Ok, Se::Error> {
                $def::serialize(self, serializer)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $def::deserialize(deserializer)
            }
        }
    };
}

#[derive(Serialize, Deserialize)]
#[serde(remote = "SgdConfig")]
struct SgdConfigDef<S> {
    lr: S,
    momentum: S,
    weight_decay: S,
    clip_norm: Option<S>,
    clip_value: Option<S>,
}
via_remote!(SgdConfig<S>, SgdConfigDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "AdamConfig")]
struct AdamConfigDef<S> {
    lr: S,
    beta1: S,
    beta2: S,
    eps: S,
    weight_decay: S,
    clip_norm: Option<S>,
    clip_value: Option<S>,
}
via_remote!(AdamConfig<S>, AdamConfigDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "Decay")]
enum DecayDef<S> {
    Constant,
    Step { every: u32, gamma: S },
    Cosine { steps: u32, min_lr: S },
}
via_remote!(Decay<S>, DecayDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "Schedule")]
struct ScheduleDef<S> {
    lr: S,
    warmup: u32,
    decay: Decay<S>,
}
via_remote!(Schedule<S>, ScheduleDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "WatchdogConfig")]
struct WatchdogConfigDef<S> {
    blowup: S,
    loss_floor: S,
    warmup: u32,
    snapshot_every: u32,
    patience: u32,
    lr_factor: S,
    min_lr: S,
    max_rollbacks: u32,
}
via_remote!(WatchdogConfig<S>, WatchdogConfigDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "EpochReport")]
struct EpochReportDef<S> {
    batches: usize,
    mean_loss: S,
    trained: usize,
    skipped: usize,
    repeated: usize,
}
via_remote!(EpochReport<S>, EpochReportDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "Evaluation")]
struct EvaluationDef<S> {
    loss: S,
    correct: usize,
    non_finite: usize,
    total: usize,
}
via_remote!(Evaluation<S>, EvaluationDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "WatchdogStats")]
struct WatchdogStatsDef {
    trained: u32,
    bad_data: u32,
    blowups: u32,
    non_finite: u32,
    rollbacks: u32,
    snapshots: u32,
}
via_remote!(WatchdogStats, WatchdogStatsDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "Footprint")]
struct FootprintDef {
    params: usize,
    grads: usize,
    optimizer: usize,
    cache: usize,
    delta: usize,
    other: usize,
}
via_remote!(Footprint, FootprintDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "Init")]
enum InitDef {
    GlorotUniform,
    HeUniform,
    HeNormal,
}
via_remote!(Init, InitDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "Remainder")]
enum RemainderDef {
    Wrap,
    Skip,
    Reject,
}
via_remote!(Remainder, RemainderDef);

#[derive(Serialize, Deserialize)]
#[serde(remote = "ScalarKind")]
enum ScalarKindDef {
    F32,
    F64,
}
via_remote!(ScalarKind, ScalarKindDef);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Serialize + for<'de> Deserialize<'de> + PartialEq + core::fmt::Debug>(
        value: T,
        json: &str,
    ) {
        assert_eq!(serde_json::to_string(&value).unwrap(), json);
        assert_eq!(serde_json::from_str::<T>(json).unwrap(), value);
    }

    #[test]
    fn configurations_and_reports_round_trip_through_json() {
        round_trip(
            SgdConfig::new(0.5f32)
                .with_momentum(0.9)
                .with_clip_norm(1.0),
            r#"{"lr":0.5,"momentum":0.9,"weight_decay":0.0,"clip_norm":1.0,"clip_value":null}"#,
        );
        round_trip(
            AdamConfig::new(1e-3f64),
            r#"{"lr":0.001,"beta1":0.9,"beta2":0.999,"eps":1e-8,"weight_decay":0.0,"clip_norm":null,"clip_value":null}"#,
        );
        round_trip(
            Schedule::cosine(0.1f32, 90, 0.001).with_warmup(10),
            r#"{"lr":0.1,"warmup":10,"decay":{"Cosine":{"steps":90,"min_lr":0.001}}}"#,
        );
        round_trip(
            Schedule::<f64>::constant(0.25),
            r#"{"lr":0.25,"warmup":0,"decay":"Constant"}"#,
        );
        round_trip(
            Evaluation {
                loss: 0.125f32,
                correct: 3,
                non_finite: 0,
                total: 4,
            },
            r#"{"loss":0.125,"correct":3,"non_finite":0,"total":4}"#,
        );
        round_trip(Init::HeUniform, r#""HeUniform""#);
        round_trip(Remainder::Skip, r#""Skip""#);
        round_trip(ScalarKind::F64, r#""F64""#);
        let config = WatchdogConfig::<f32>::new();
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(
            serde_json::from_str::<WatchdogConfig<f32>>(&json).unwrap(),
            config
        );
        let stats = WatchdogStats {
            rollbacks: 2,
            ..WatchdogStats::default()
        };
        let json = serde_json::to_string(&stats).unwrap();
        assert_eq!(serde_json::from_str::<WatchdogStats>(&json).unwrap(), stats);
    }

    #[test]
    fn a_missing_field_is_refused_by_name() {
        use core::fmt::Write;
        // The message, written into a fixed buffer: no heap.
        struct Text([u8; 256], usize);
        impl Write for Text {
            fn write_str(&mut self, s: &str) -> core::fmt::Result {
                let end = self.1 + s.len();
                self.0
                    .get_mut(self.1..end)
                    .ok_or(core::fmt::Error)?
                    .copy_from_slice(s.as_bytes());
                self.1 = end;
                Ok(())
            }
        }
        let e = serde_json::from_str::<SgdConfig<f32>>(r#"{"lr":0.5}"#).unwrap_err();
        let mut text = Text([0; 256], 0);
        write!(text, "{e}").unwrap();
        let message = core::str::from_utf8(&text.0[..text.1]).unwrap();
        assert!(message.contains("momentum"), "{message}");
    }
}
