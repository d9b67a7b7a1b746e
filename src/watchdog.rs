//! [`Watchdog`]: unattended training that survives bad samples and divergence by
//! refusing outlier batches and rolling back to the last good snapshot.

use core::mem::size_of;

use crate::optim::{non_negative, positive};
use crate::{
    Error, Layer, LearningRate, Loss, LossHistory, Optimizer, Scalar, SnapshotStore, Trainer,
};

/// Settings of a [`Watchdog`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WatchdogConfig<S> {
    /// A batch whose loss is above `blowup` × the baseline (the mean of the last `H`
    /// accepted losses) is refused as a blow-up: finite and > 1. Default 10. The same
    /// factor bounds slow drift: a baseline that has risen above `blowup` × the
    /// baseline of the last snapshot is not saved, and rolls back instead.
    pub blowup: S,
    /// Losses (and baselines) up to this are never a blow-up or a drift, however low
    /// the baseline: finite and ≥ 0. Default 1e-3, so an exact fit (a baseline of 0)
    /// followed by a small drift of the data keeps training.
    pub loss_floor: S,
    /// Accepted steps before the baseline is trusted; until then only non-finite
    /// steps are refused. Default 16.
    pub warmup: u32,
    /// Accepted steps between two snapshots: ≥ 1. Default 100. A snapshot is saved
    /// only once the batch after those steps has shown a loss within bounds.
    pub snapshot_every: u32,
    /// Refused steps in a row (blow-ups, or steps the guard refused) that trigger a
    /// rollback: ≥ 1. Default 3. A refused step changed nothing, so an isolated one
    /// is an outlier, not divergence; only refusals in a row say the network (not the
    /// data) went wrong.
    pub patience: u32,
    /// The learning rate is multiplied by this at each rollback: in (0, 1]. Default ½.
    pub lr_factor: S,
    /// The learning rate is not lowered below this: finite and ≥ 0. Default 0.
    pub min_lr: S,
    /// Rollbacks with no new snapshot in between before giving up with
    /// [`Error::Diverged`]: ≥ 1. Default 8.
    pub max_rollbacks: u32,
}

impl<S: Scalar> WatchdogConfig<S> {
    /// The defaults listed on each field (`const`, so it can initialise a `static`).
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::prelude::WatchdogConfig;
    /// static CONFIG: WatchdogConfig<f32> = WatchdogConfig { patience: 2, ..WatchdogConfig::new() };
    /// assert_eq!((CONFIG.blowup, CONFIG.patience), (10.0, 2));
    /// assert!(CONFIG.validate().is_ok());
    /// ```
    pub const fn new() -> Self {
        Self {
            blowup: S::TEN,
            loss_floor: S::WATCHDOG_LOSS_FLOOR,
            warmup: 16,
            snapshot_every: 100,
            patience: 3,
            lr_factor: S::HALF,
            min_lr: S::ZERO,
            max_rollbacks: 8,
        }
    }

    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |name, expected| Err(Error::InvalidHyperParameter { name, expected });
        positive(self.blowup, "blowup")?;
        if self.blowup <= S::ONE {
            return invalid("blowup", "finite and > 1");
        }
        non_negative(self.loss_floor, "loss_floor")?;
        if self.snapshot_every == 0 {
            return invalid("snapshot_every", ">= 1");
        }
        if self.patience == 0 {
            return invalid("patience", ">= 1");
        }
        positive(self.lr_factor, "lr_factor")?;
        if self.lr_factor > S::ONE {
            return invalid("lr_factor", "in (0, 1]");
        }
        non_negative(self.min_lr, "min_lr")?;
        if self.max_rollbacks == 0 {
            return invalid("max_rollbacks", ">= 1");
        }
        Ok(())
    }
}

impl<S: Scalar> Default for WatchdogConfig<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// What one [`Watchdog::step`] did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StepOutcome<S> {
    /// The step was taken; its loss, before the update.
    Trained(S),
    /// The batch was refused and nothing changed: its data were bad
    /// ([`Error::NonFiniteInput`], [`Error::NonFiniteTarget`], [`Error::InvalidTarget`]),
    /// or it was a blow-up or a step the guard refused, not yet `patience` of them in
    /// a row.
    Refused(Error),
    /// The network and optimizer went back to the last snapshot after `cause`, and the
    /// learning rate is now `lr`.
    RolledBack {
        /// The refusal that triggered it.
        cause: Error,
        /// The learning rate in force after the rollback.
        lr: S,
    },
}

/// Counts of what a [`Watchdog`] has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchdogStats {
    /// Steps taken.
    pub trained: u32,
    /// Batches refused for bad data: non-finite, or targets outside the loss's domain.
    pub bad_data: u32,
    /// Batches refused as blow-ups ([`Error::LossAboveLimit`]).
    pub blowups: u32,
    /// Steps the guard refused ([`Error::NonFiniteLoss`], [`Error::NonFiniteGradient`],
    /// [`Error::NonFiniteUpdate`]).
    pub non_finite: u32,
    /// Rollbacks to the snapshot.
    pub rollbacks: u32,
    /// Snapshots saved.
    pub snapshots: u32,
}

/// Watches a training stream and keeps it from being corrupted: refuses outlier
/// batches before they move the network, and when refusals come `patience` in a row
/// (or the guard refuses a step), rolls the network and optimizer back to the last
/// good snapshot and lowers the learning rate.
///
/// Opting in costs [`Watchdog::BYTES`]: the store (for a [`Snapshot`](crate::Snapshot),
/// one more copy of the parameters and the optimizer) and a [`LossHistory`] of `H`
/// losses. Every `snapshot_every` accepted steps it also runs one extra forward pass,
/// to check the state it is about to save.
///
/// The learning rate after a rollback is `max(lr · lr_factor, min_lr)`, where `lr` is
/// the lower of the rate when the trouble came and the rate in the snapshot (so a rate
/// raised since the snapshot does not survive, and repeated rollbacks keep lowering it).
///
/// # Generics
///
/// * `S`: the scalar.
/// * `St`: the [`SnapshotStore`].
/// * `H`: the losses the baseline is the mean of.
///
/// # Examples
///
/// ```
/// use stackprop::*;
/// type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
/// type Opt = Sgd<Net, NoMomentum>;
///
/// let mut net = Net::ZERO;
/// net.init(Init::GlorotUniform, &mut SplitMix64::new(1));
/// let mut trainer = Trainer::<_, _, _, 4>::new(net, Opt::new(SgdConfig::new(0.5))?, Mse);
/// let config = WatchdogConfig { warmup: 4, snapshot_every: 10, patience: 1, ..WatchdogConfig::new() };
/// let mut watchdog = Watchdog::<f32, _, 8>::new(config, Snapshot::<Net, Opt>::ZERO)?;
///
/// let x = [[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
/// let t = [[0.], [1.], [1.], [0.]];
/// for _ in 0..50 { watchdog.step(&mut trainer, &x, &t)?; }
/// // A sample with a NaN is refused; a target of 1e6 blows the loss up.
/// let outcome = watchdog.step(&mut trainer, &[[f32::NAN, 0.], [0., 1.], [1., 0.], [1., 1.]], &t)?;
/// assert_eq!(outcome, StepOutcome::Refused(Error::NonFiniteInput));
/// let outcome = watchdog.step(&mut trainer, &x, &[[0.], [1.], [1.], [1e6]])?;
/// assert!(matches!(outcome, StepOutcome::RolledBack { cause: Error::LossAboveLimit, lr: 0.25 }));
/// assert_eq!(watchdog.stats().rollbacks, 1);
/// assert!(Watchdog::<f32, Snapshot<Net, Opt>, 8>::BYTES < 512);
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Watchdog<S, St, const H: usize> {
    config: WatchdogConfig<S>,
    store: St,
    history: LossHistory<S, H>,
    /// The baseline when the last snapshot was saved (or at the first accepted step
    /// after it), against which slow drift is measured.
    baseline: Option<S>,
    saved: bool,
    since_snapshot: u32,
    strikes: u32,
    rollbacks_in_a_row: u32,
    stats: WatchdogStats,
}

impl<S: Scalar, St, const H: usize> Watchdog<S, St, H> {
    /// The bytes a watchdog takes, its store included.
    pub const BYTES: usize = size_of::<Self>();

    /// A watchdog that keeps its snapshots in `store`. The first snapshot is saved at
    /// the first [`step`](Watchdog::step).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if a field of `config` is out of range.
    pub fn new(config: WatchdogConfig<S>, store: St) -> Result<Self, Error> {
        config.validate()?;
        Ok(Self {
            config,
            store,
            history: LossHistory::new(),
            baseline: None,
            saved: false,
            since_snapshot: 0,
            strikes: 0,
            rollbacks_in_a_row: 0,
            stats: WatchdogStats::default(),
        })
    }

    /// The settings in force.
    pub fn config(&self) -> WatchdogConfig<S> {
        self.config
    }

    /// What the watchdog has done so far.
    pub fn stats(&self) -> WatchdogStats {
        self.stats
    }

    /// The accepted losses the baseline is taken from.
    pub fn history(&self) -> &LossHistory<S, H> {
        &self.history
    }

    /// The snapshot store.
    pub fn store(&self) -> &St {
        &self.store
    }

    /// The loss above which a batch is a blow-up now; +∞ during the warm-up.
    pub fn limit(&self) -> S {
        match self.history.mean() {
            Some(mean) if self.history.pushed() >= self.config.warmup as usize => {
                (self.config.blowup * mean).max(self.config.loss_floor)
            }
            _ => S::from_f64(f64::INFINITY),
        }
    }

    /// One watched training step of `trainer` on `(x, t)`.
    ///
    /// # Errors
    ///
    /// [`Error::Diverged`] after more than `max_rollbacks` rollbacks with no new
    /// snapshot in between (the snapshot is restored then, at the lowered learning
    /// rate); an error of the store; any error of [`Trainer::step`] other than the
    /// refusals listed in [`StepOutcome::Refused`].
    pub fn step<L, O, E, const N: usize>(
        &mut self,
        trainer: &mut Trainer<L, O, E, N>,
        x: &[L::Input; N],
        t: &[L::Output; N],
    ) -> Result<StepOutcome<S>, Error>
    where
        L: Layer<Scalar = S>,
        O: Optimizer<L> + LearningRate<S>,
        E: Loss<S>,
        St: SnapshotStore<L, O>,
    {
        let limit = self.limit();
        if !self.saved {
            self.save(trainer)?;
        } else if self.since_snapshot >= self.config.snapshot_every {
            // A baseline risen `blowup`-fold since the last snapshot is slow drift:
            // that state is not saved, and the last good one comes back.
            if let (Some(now), Some(then)) = (self.history.mean(), self.baseline)
                && now > (self.config.blowup * then).max(self.config.loss_floor)
            {
                self.strikes = self.config.patience.saturating_sub(1);
                return self.strike(trainer, Error::LossAboveLimit);
            }
            // Check the state about to be saved on this batch first.
            match trainer.loss(x, t) {
                Ok(e) if e.is_finite() && e <= limit => self.save(trainer)?,
                Ok(e) if !e.is_finite() => return self.strike(trainer, Error::NonFiniteLoss),
                Ok(_) => return self.strike(trainer, Error::LossAboveLimit),
                Err(e) => return self.refuse(e),
            }
        }
        match trainer.step_with_limit(x, t, limit) {
            Ok(e) => {
                self.history.push(e);
                if self.baseline.is_none() {
                    self.baseline = self.history.mean();
                }
                self.strikes = 0;
                self.since_snapshot = self.since_snapshot.saturating_add(1);
                self.stats.trained = self.stats.trained.saturating_add(1);
                Ok(StepOutcome::Trained(e))
            }
            Err(
                cause @ (Error::LossAboveLimit
                | Error::NonFiniteLoss
                | Error::NonFiniteGradient
                | Error::NonFiniteUpdate),
            ) => self.strike(trainer, cause),
            Err(e) => self.refuse(e),
        }
    }

    fn save<L: Layer, O, E, const N: usize>(
        &mut self,
        trainer: &Trainer<L, O, E, N>,
    ) -> Result<(), Error>
    where
        St: SnapshotStore<L, O>,
    {
        self.store.save(&trainer.net, &trainer.optimizer)?;
        self.baseline = self.history.mean();
        self.saved = true;
        self.since_snapshot = 0;
        self.rollbacks_in_a_row = 0;
        self.stats.snapshots = self.stats.snapshots.saturating_add(1);
        Ok(())
    }

    /// Counts a batch refused for its data; other errors pass through.
    fn refuse(&mut self, error: Error) -> Result<StepOutcome<S>, Error> {
        match error {
            Error::NonFiniteInput | Error::NonFiniteTarget | Error::InvalidTarget { .. } => {
                self.stats.bad_data = self.stats.bad_data.saturating_add(1);
                Ok(StepOutcome::Refused(error))
            }
            other => Err(other),
        }
    }

    /// Counts a blow-up or a guard refusal, and rolls back after `patience` in a row.
    fn strike<L, O, E, const N: usize>(
        &mut self,
        trainer: &mut Trainer<L, O, E, N>,
        cause: Error,
    ) -> Result<StepOutcome<S>, Error>
    where
        L: Layer<Scalar = S>,
        O: LearningRate<S>,
        St: SnapshotStore<L, O>,
    {
        if cause == Error::LossAboveLimit {
            self.stats.blowups = self.stats.blowups.saturating_add(1);
        } else {
            self.stats.non_finite = self.stats.non_finite.saturating_add(1);
        }
        self.strikes = self.strikes.saturating_add(1);
        if self.strikes < self.config.patience {
            return Ok(StepOutcome::Refused(cause));
        }
        let failed_lr = trainer.optimizer.lr();
        self.store
            .restore(&mut trainer.net, &mut trainer.optimizer)?;
        let base = failed_lr.min(trainer.optimizer.lr());
        let lr = (base * self.config.lr_factor).max(self.config.min_lr.min(base));
        trainer.optimizer.set_lr(lr)?;
        self.strikes = 0;
        self.since_snapshot = 0;
        // The next accepted step sets a new baseline for the drift check.
        self.baseline = None;
        self.rollbacks_in_a_row = self.rollbacks_in_a_row.saturating_add(1);
        self.stats.rollbacks = self.stats.rollbacks.saturating_add(1);
        if self.rollbacks_in_a_row > self.config.max_rollbacks {
            return Err(Error::Diverged {
                rollbacks: self.rollbacks_in_a_row,
            });
        }
        Ok(StepOutcome::RolledBack { cause, lr })
    }
}
