//! Stochastic gradient descent with momentum and weight decay (`torch.optim.SGD`).

use core::mem::size_of;

use crate::optim::{
    Clip, LearningRate, Optimizer, clip_from_record, clip_threshold, non_negative, recorded_clip,
    refusal, unit_interval,
};
use crate::persist::{Architecture, OptimizerState, RecordError};
use crate::scalar::FiniteProbe;
use crate::{Error, Layer, Scalar, Tensors, Zero};

/// Hyper-parameters of [`Sgd`], with PyTorch's meaning (dampening 0, no Nesterov).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig<S> {
    /// Learning rate: finite and ≥ 0. No default (PyTorch has none either).
    pub lr: S,
    /// Momentum μ in [0, 1). Default 0. Needs a velocity buffer (see [`Sgd`]).
    pub momentum: S,
    /// L2 penalty λ ≥ 0, added to the gradient as λ·p (biases included). Default 0.
    pub weight_decay: S,
    /// Largest L2 norm of all gradients together (`clip_grad_norm_`): finite and > 0,
    /// or `None` (the default) for no norm clipping. See [`crate::optim`].
    pub clip_norm: Option<S>,
    /// Largest magnitude of each gradient (`clip_grad_value_`): finite and > 0, or
    /// `None` (the default) for no value clipping. See [`crate::optim`].
    pub clip_value: Option<S>,
}

impl<S: Scalar> SgdConfig<S> {
    /// Plain SGD with learning rate `lr`, no momentum, no weight decay.
    pub const fn new(lr: S) -> Self {
        Self {
            lr,
            momentum: S::ZERO,
            weight_decay: S::ZERO,
            clip_norm: None,
            clip_value: None,
        }
    }

    /// This config with momentum μ.
    pub const fn with_momentum(mut self, momentum: S) -> Self {
        self.momentum = momentum;
        self
    }

    /// This config with weight decay λ.
    pub const fn with_weight_decay(mut self, weight_decay: S) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// This config with the gradients' global L2 norm clipped to `max_norm`.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::SgdConfig;
    /// let config = SgdConfig::new(0.1_f32).with_clip_norm(1.0).with_clip_value(0.5);
    /// assert_eq!((config.clip_norm, config.clip_value), (Some(1.0), Some(0.5)));
    /// assert!(SgdConfig::new(0.1_f32).with_clip_norm(0.0).validate().is_err());
    /// ```
    pub const fn with_clip_norm(mut self, max_norm: S) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }

    /// This config with every gradient clamped to `[-max_value, max_value]`.
    pub const fn with_clip_value(mut self, max_value: S) -> Self {
        self.clip_value = Some(max_value);
        self
    }

    /// Checks every field's range.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] naming the first field out of range.
    pub fn validate(&self) -> Result<(), Error> {
        non_negative(self.lr, "lr")?;
        unit_interval(self.momentum, "momentum")?;
        non_negative(self.weight_decay, "weight_decay")?;
        clip_threshold(self.clip_norm, "clip_norm")?;
        clip_threshold(self.clip_value, "clip_value")
    }
}

impl<S: Scalar> Zero for SgdConfig<S> {
    const ZERO: Self = Self::new(S::ZERO);
}

/// Whether an [`Sgd`] keeps a momentum buffer: [`NoMomentum`] (the default) or
/// [`WithMomentum`].
pub trait Velocity {
    /// The storage for a network whose gradients are `G`: `G` itself, or `()`.
    type Buffer<G: Zero + Copy + core::fmt::Debug + PartialEq>: Zero
        + Copy
        + core::fmt::Debug
        + PartialEq;
    /// The buffer, if this storage has one.
    fn buffer<G: Zero + Copy + core::fmt::Debug + PartialEq>(
        storage: &mut Self::Buffer<G>,
    ) -> Option<&mut G>;
    /// The buffer, shared, if this storage has one.
    fn buffer_ref<G: Zero + Copy + core::fmt::Debug + PartialEq>(
        storage: &Self::Buffer<G>,
    ) -> Option<&G>;
}

/// A momentum buffer shaped like the network's gradients: `Sgd<Net, WithMomentum>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WithMomentum;

impl Velocity for WithMomentum {
    type Buffer<G: Zero + Copy + core::fmt::Debug + PartialEq> = G;
    #[inline(always)]
    fn buffer<G: Zero + Copy + core::fmt::Debug + PartialEq>(storage: &mut G) -> Option<&mut G> {
        Some(storage)
    }
    #[inline(always)]
    fn buffer_ref<G: Zero + Copy + core::fmt::Debug + PartialEq>(storage: &G) -> Option<&G> {
        Some(storage)
    }
}

/// No momentum buffer: plain SGD that costs no optimizer memory (the default of [`Sgd`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoMomentum;

impl Velocity for NoMomentum {
    type Buffer<G: Zero + Copy + core::fmt::Debug + PartialEq> = ();
    #[inline(always)]
    fn buffer<G: Zero + Copy + core::fmt::Debug + PartialEq>(_storage: &mut ()) -> Option<&mut G> {
        None
    }
    #[inline(always)]
    fn buffer_ref<G: Zero + Copy + core::fmt::Debug + PartialEq>(_storage: &()) -> Option<&G> {
        None
    }
}

/// SGD with PyTorch's update:
///
/// ```text
/// g ← g + λ·p
/// v ← g at the first step, else μ·v + g;   g ← v      (if μ ≠ 0)
/// p ← p − lr·g
/// ```
///
/// # Generics
///
/// * `L`: the network.
/// * `V`: [`NoMomentum`] (the default), plain SGD that keeps no buffer (then μ must
///   be 0); or [`WithMomentum`], a velocity buffer shaped like `L`'s gradients, which
///   momentum needs.
///
/// The two keep different state, so their training-state records differ by
/// optimizer id (1 for `NoMomentum`, 2 for `WithMomentum`): a record saved with
/// momentum loads into `Sgd<L, WithMomentum>` only (into `Sgd<L>` it is refused as a
/// record of another length or optimizer, with nothing changed).
///
/// # Examples
///
/// ```
/// use stackprop::persist::Progress;
/// use stackprop::{Dense, Mse, SplitMix64, Sgd, SgdConfig, Sigmoid, Tanh, Trainer, WithMomentum, Zero};
/// type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
///
/// let plain = Sgd::<Net>::new(SgdConfig::new(0.5))?; // no buffer: a few bytes
/// let config = SgdConfig::new(0.1).with_momentum(0.9).with_weight_decay(1e-4);
/// let momentum = Sgd::<Net, WithMomentum>::new(config)?;
/// assert!(size_of_val(&plain) < 64 && size_of_val(&momentum) > 33 * 4);
/// // Momentum without a buffer is refused.
/// assert!(Sgd::<Net>::new(config).is_err());
///
/// // A record saved with momentum loads with momentum, and is refused without.
/// type Momentum = Trainer<Net, Sgd<Net, WithMomentum>, Mse, 4>;
/// type Plain = Trainer<Net, Sgd<Net>, Mse, 4>;
/// let mut record = [0u8; Momentum::STATE_RECORD_LEN];
/// let progress = Progress { steps: 0, rng: SplitMix64::new(1) };
/// Momentum::new(Net::ZERO, momentum, Mse).save_state(&progress, &mut record)?;
/// assert!(Momentum::ZERO.load_state(&record).is_ok());
/// assert!(Plain::ZERO.load_state(&record).is_err());
/// # Ok::<(), stackprop::Error>(())
/// ```
pub struct Sgd<L: Layer, V: Velocity = NoMomentum> {
    config: SgdConfig<L::Scalar>,
    /// `clip_norm` and `clip_value` as recorded in state records: 0 for off.
    clip: [L::Scalar; 2],
    velocity: V::Buffer<L::Grads>,
    started: bool,
    configured: bool,
}

impl<L: Layer, V: Velocity> Clone for Sgd<L, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<L: Layer, V: Velocity> Copy for Sgd<L, V> {}

impl<L: Layer, V: Velocity> core::fmt::Debug for Sgd<L, V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sgd")
            .field("config", &self.config)
            .field("velocity", &self.velocity)
            .field("started", &self.started)
            .field("configured", &self.configured)
            .finish()
    }
}

impl<L: Layer, V: Velocity> PartialEq for Sgd<L, V> {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.velocity == other.velocity
            && self.started == other.started
            && self.configured == other.configured
    }
}

impl<L: Layer, V: Velocity> Sgd<L, V> {
    /// An optimizer with `config` and zeroed state.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidHyperParameter`] if a field is out of range, or if `momentum`
    /// is not 0 while `V` is [`NoMomentum`].
    pub fn new(config: SgdConfig<L::Scalar>) -> Result<Self, Error> {
        let mut sgd = Self::ZERO;
        sgd.set_config(config)?;
        Ok(sgd)
    }

    /// The hyper-parameters in force.
    pub fn config(&self) -> SgdConfig<L::Scalar> {
        self.config
    }

    /// Replaces the hyper-parameters, keeping the momentum buffer.
    ///
    /// # Errors
    ///
    /// As [`Sgd::new`]; on error nothing changes.
    pub fn set_config(&mut self, config: SgdConfig<L::Scalar>) -> Result<(), Error> {
        config.validate()?;
        if config.momentum != L::Scalar::ZERO && V::buffer(&mut self.velocity).is_none() {
            return Err(Error::InvalidHyperParameter {
                name: "momentum",
                expected: "0 for Sgd<_, NoMomentum> (it has no velocity buffer)",
            });
        }
        self.config = config;
        self.clip = recorded_clip(config.clip_norm, config.clip_value);
        self.configured = true;
        Ok(())
    }

    /// `true` once a valid configuration was set (by [`new`](Sgd::new),
    /// [`set_config`](Sgd::set_config) or loading a training state); `Sgd::ZERO` is
    /// not, and refuses to step with [`Error::Unconfigured`].
    pub const fn is_configured(&self) -> bool {
        self.configured
    }

    /// Forgets the momentum, as if no step had been taken.
    pub fn reset(&mut self) {
        self.velocity = Zero::ZERO;
        self.started = false;
    }
}

impl<L: Layer, V: Velocity> Zero for Sgd<L, V> {
    const ZERO: Self = Self {
        config: SgdConfig::ZERO,
        clip: [L::Scalar::ZERO; 2],
        velocity: Zero::ZERO,
        started: false,
        configured: false,
    };
}

impl<L: Layer, V: Velocity> LearningRate<L::Scalar> for Sgd<L, V> {
    fn lr(&self) -> L::Scalar {
        self.config.lr
    }

    fn set_lr(&mut self, lr: L::Scalar) -> Result<(), Error> {
        if !self.configured {
            return Err(Error::Unconfigured);
        }
        non_negative(lr, "lr")?;
        self.config.lr = lr;
        Ok(())
    }
}

/// Record order: lr, momentum, weight_decay, clip_norm, clip_value (0 for off), then
/// the velocity buffer (if `V` keeps one); the counter is 1 once a step has been taken.
impl<L: Architecture, V: Velocity> OptimizerState<L> for Sgd<L, V> {
    const ID: u32 = if Self::VELOCITY == 0 { 1 } else { 2 };
    const STATE_COUNT: usize = 5 + Self::VELOCITY;

    fn state(&self) -> impl Iterator<Item = &[L::Scalar]> {
        let c = &self.config;
        [&c.lr, &c.momentum, &c.weight_decay]
            .into_iter()
            .map(core::slice::from_ref)
            .chain([&self.clip[..]])
            .chain(
                V::buffer_ref(&self.velocity)
                    .into_iter()
                    .flat_map(Tensors::slices),
            )
    }

    fn counter(&self) -> u64 {
        u64::from(self.started)
    }

    fn is_configured(&self) -> bool {
        self.configured
    }

    fn restore(
        &mut self,
        state: impl Iterator<Item = L::Scalar> + Clone,
        counter: u64,
    ) -> Result<(), Error> {
        let mut values = state;
        let mut next = || values.next().ok_or(RecordError::Inconsistent);
        let config = SgdConfig {
            lr: next()?,
            momentum: next()?,
            weight_decay: next()?,
            clip_norm: clip_from_record(next()?),
            clip_value: clip_from_record(next()?),
        };
        let started = match counter {
            0 => false,
            1 => true,
            _ => {
                return Err(RecordError::InvalidState {
                    what: "SGD counter",
                }
                .into());
            }
        };
        let velocity = V::buffer_ref(&self.velocity).map_or(0, Tensors::scalar_count);
        if velocity != Self::VELOCITY {
            return Err(RecordError::Inconsistent.into());
        }
        // Checks the configuration (momentum against a missing buffer too) and sets it;
        // after that nothing can fail.
        self.set_config(config)?;
        if let Some(velocity) = V::buffer(&mut self.velocity) {
            for (dst, src) in velocity.slices_mut().flatten().zip(values) {
                *dst = src;
            }
        }
        self.started = started;
        Ok(())
    }
}

impl<L: Layer, V: Velocity> Sgd<L, V> {
    /// The scalars in the velocity buffer: the trainable parameters, or 0.
    const VELOCITY: usize = size_of::<V::Buffer<L::Grads>>() / size_of::<L::Scalar>();
}

impl<L: Layer, V: Velocity> Optimizer<L> for Sgd<L, V> {
    fn update(&mut self, net: &mut L, grads: &L::Grads) -> Result<(), Error> {
        let config = self.config;
        if !self.configured {
            return Err(Error::Unconfigured);
        }
        let first = !self.started;
        let velocity = match V::buffer(&mut self.velocity) {
            Some(velocity) if config.momentum != L::Scalar::ZERO => Some(velocity),
            _ => None,
        };
        match Clip::new(grads, config.clip_norm, config.clip_value)? {
            None => sgd(net, grads, velocity, config, first, |g| g)?,
            Some(clip) => sgd(net, grads, velocity, config, first, |g| clip.apply(g))?,
        }
        self.started = true;
        Ok(())
    }
}

/// One guarded SGD step with the gradients seen through `clip`: a check pass, then a
/// writing pass with the same arithmetic.
///
/// Out of line, so that the clipped and unclipped variants each get a frame of their
/// own: on a microcontroller, the caller's stack then holds only the one that runs.
#[inline(never)]
fn sgd<L: Layer>(
    net: &mut L,
    grads: &L::Grads,
    velocity: Option<&mut L::Grads>,
    config: SgdConfig<L::Scalar>,
    first: bool,
    clip: impl Fn(L::Scalar) -> L::Scalar + Copy,
) -> Result<(), Error> {
    let SgdConfig {
        lr,
        momentum,
        weight_decay,
        ..
    } = config;
    match velocity {
        Some(velocity) => {
            // v ← g at the first step, else μ·v + g; p ← p − lr·v.
            let step = |p: L::Scalar, g: L::Scalar, v: L::Scalar| {
                let g = clip(g) + weight_decay * p;
                let v = if first { g } else { momentum * v + g };
                (p - lr * v, v)
            };
            let mut probe = FiniteProbe::new();
            net.inspect_trainable(grads, [&*velocity], &mut |p, g, [v]| {
                for ((&p, &g), &v) in p.iter().zip(g).zip(v) {
                    let (p, v) = step(p, g, v);
                    probe.add(p);
                    probe.add(v);
                }
            });
            if !probe.all_finite() {
                return Err(refusal(grads));
            }
            // Re-read the values in the writing pass rather than keep all of them live
            // from the check pass: on a small fully unrolled network that would spill
            // them to the stack.
            let net = core::hint::black_box(&mut *net);
            net.visit_trainable(grads, [velocity], &mut |p, g, [v]| {
                for ((p, &g), v) in p.iter_mut().zip(g).zip(v.iter_mut()) {
                    (*p, *v) = step(*p, g, *v);
                }
            });
        }
        None => {
            let step = |p: L::Scalar, g: L::Scalar| p - lr * (clip(g) + weight_decay * p);
            let mut probe = FiniteProbe::new();
            net.inspect_trainable(grads, [], &mut |p, g, []| {
                for (&p, &g) in p.iter().zip(g) {
                    probe.add(step(p, g));
                }
            });
            if !probe.all_finite() {
                return Err(refusal(grads));
            }
            // Re-read the values in the writing pass rather than keep all of them live
            // from the check pass: on a small fully unrolled network that would spill
            // them to the stack.
            let net = core::hint::black_box(&mut *net);
            net.visit_trainable(grads, [], &mut |p, g, []| {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p = step(*p, g);
                }
            });
        }
    }
    Ok(())
}
