//! [`OptimizerState`]: an optimizer's hyper-parameters and buffers as a flat list of
//! scalars, and the [`Trainer`] methods that save and load a whole training state.

use crate::persist::{Architecture, Progress, record};
use crate::{Error, Trainer};

/// An optimizer whose state can be saved in a training-state record and restored.
///
/// The state is a fixed number of scalars ([`OptimizerState::STATE_COUNT`]) in a fixed
/// order, plus one `u64` counter. Implemented by [`Sgd`](crate::Sgd) (with or without a
/// velocity buffer), [`Adam`](crate::Adam) and `()` (no optimizer).
///
/// | optimizer | `ID` | scalars, in order | counter |
/// |---|---|---|---|
/// | `()` | 0 | none | 0 |
/// | `Sgd<L, NoMomentum>` | 1 | lr, momentum, weight_decay, clip_norm, clip_value (0: off) | 1 once it has stepped, else 0 |
/// | `Sgd<L, WithMomentum>` | 2 | lr, momentum, weight_decay, clip_norm, clip_value, velocity | as above |
/// | `Adam<L>` | 3 | lr, beta1, beta2, eps, weight_decay, clip_norm, clip_value (0: off), beta1^k, beta2^k (0 before the first step), m, v | k, the steps taken |
///
/// Buffers (velocity, m, v) are shaped like [`Layer::Grads`](crate::Layer::Grads):
/// the trainable parameters in the order of the parameter list, frozen layers skipped.
pub trait OptimizerState<L: Architecture> {
    /// Which optimizer this is, recorded in the header and checked on loading.
    const ID: u32;
    /// The number of scalars [`state`](OptimizerState::state) yields.
    const STATE_COUNT: usize;

    /// Every state scalar, in record order, as slices.
    fn state(&self) -> impl Iterator<Item = &[L::Scalar]>;

    /// The step counter.
    fn counter(&self) -> u64;

    /// `false` for an optimizer never given a valid configuration, which saving
    /// refuses with [`Error::Unconfigured`]. Default `true`.
    fn is_configured(&self) -> bool {
        true
    }

    /// Replaces the state with `state` (the scalars in record order, already checked
    /// to be finite) and `counter`, if they are a state this optimizer can be in.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] for a hyper-parameter out of range,
    /// [`RecordError::InvalidState`](crate::persist::RecordError::InvalidState) for a
    /// buffer value or counter out of range; nothing changes then.
    fn restore(
        &mut self,
        state: impl Iterator<Item = L::Scalar> + Clone,
        counter: u64,
    ) -> Result<(), Error>;
}

impl<L: Architecture> OptimizerState<L> for () {
    const ID: u32 = 0;
    const STATE_COUNT: usize = 0;

    fn state(&self) -> impl Iterator<Item = &[L::Scalar]> {
        core::iter::empty()
    }

    fn counter(&self) -> u64 {
        0
    }

    fn restore(
        &mut self,
        _state: impl Iterator<Item = L::Scalar> + Clone,
        counter: u64,
    ) -> Result<(), Error> {
        if counter == 0 {
            Ok(())
        } else {
            Err(crate::persist::RecordError::InvalidState { what: "counter" }.into())
        }
    }
}

impl<L: Architecture, O: OptimizerState<L>, E, const N: usize> Trainer<L, O, E, N> {
    /// The byte length of this trainer's training-state record, a compile-time
    /// constant (see [`state_len`](crate::persist::state_len)).
    pub const STATE_RECORD_LEN: usize = record::state_len::<L, O>();

    /// Writes the training state (parameters, optimizer state, `progress`) into the
    /// start of `out` as a record; returns its length,
    /// [`STATE_RECORD_LEN`](Trainer::STATE_RECORD_LEN).
    ///
    /// The forward and backward buffers are not saved: every training call overwrites
    /// them before reading them.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::persist::Progress;
    /// use stackprop::*;
    /// type Net = (Dense<2, 4, Tanh>, Dense<4, 1, Sigmoid>);
    /// type T = Trainer<Net, Adam<Net>, Mse, 4>;
    ///
    /// let mut net = Net::ZERO;
    /// let mut rng = SplitMix64::new(1);
    /// net.init(Init::GlorotUniform, &mut rng);
    /// let mut trainer = T::new(net, Adam::new(AdamConfig::new(0.01))?, Mse);
    /// trainer.step(&[[0., 1.]; 4], &[[1.]; 4])?;
    ///
    /// let mut record = [0u8; T::STATE_RECORD_LEN];
    /// trainer.save_state(&Progress { steps: 1, rng }, &mut record)?;
    ///
    /// let mut resumed = T::ZERO; // lr 0 until the record restores the configuration
    /// let progress = resumed.load_state(&record)?;
    /// assert_eq!((progress.steps, progress.rng), (1, rng));
    /// assert_eq!(resumed.net, trainer.net);
    /// assert_eq!(resumed.optimizer.steps(), 1);
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecordError::BufferTooSmall`](crate::persist::RecordError::BufferTooSmall), or
    /// [`RecordError::NonFinite`](crate::persist::RecordError::NonFinite) if a
    /// parameter or optimizer value is NaN or infinite; `out` is unchanged then.
    pub fn save_state(&self, progress: &Progress, out: &mut [u8]) -> Result<usize, Error> {
        record::write_state(&self.net, &self.optimizer, progress, out)
    }

    /// Loads a training-state record written by [`save_state`](Trainer::save_state)
    /// for the same network and optimizer type; returns its [`Progress`].
    ///
    /// Everything is checked before anything is written: length, header, layer shapes,
    /// optimizer, CRC-32, that every value is finite, and that the optimizer's
    /// hyper-parameters and state are in range.
    ///
    /// # Errors
    ///
    /// The first failed check: an [`Error::Record`] naming it, or
    /// [`Error::InvalidHyperParameter`]. The trainer is unchanged then.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<Progress, Error> {
        record::read_state(&mut self.net, &mut self.optimizer, bytes)
    }
}
