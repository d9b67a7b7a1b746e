//! [`Trainer`]: a network with everything it needs to learn, in one value.

use core::mem::size_of;

use crate::init::{Init, SplitMix64};
use crate::loss::same_class;
use crate::scalar::all_finite;
use crate::{
    Dataset, Error, Footprint, Layer, Loss, Optimizer, Permutation, Remainder, Scalar, Zero,
};

/// A network, its training buffers, its optimizer and its loss, for batches of `N`.
///
/// Every field is a fixed-size array or a tuple of them: the whole trainer can live on
/// the stack, in a `static`, or in a `static mut` local of a firmware entry point, and
/// [`Trainer::FOOTPRINT`] tells its size at compile time. After a call, the buffers
/// hold every quantity of the seed note for the last batch (see the crate docs).
///
/// # Generics
///
/// * `L`: the network, a [`Layer`] (usually a tuple of [`Dense`](crate::Dense)).
/// * `O`: the [`Optimizer`].
/// * `E`: the [`Loss`].
/// * `N`: the batch size.
///
/// # Examples
///
/// ```
/// use stackprop::*;
/// type Net = (Dense<2, 8, Tanh>, Dense<8, 1, Sigmoid>);
///
/// let mut net = Net::ZERO;
/// net.init(Init::GlorotUniform, &mut SplitMix64::new(1));
/// let sgd = Sgd::<Net>::new(SgdConfig::new(0.5))?;
/// let mut trainer = Trainer::<_, _, _, 4>::new(net, sgd, Mse);
///
/// let x = [[0., 0.], [0., 1.], [1., 0.], [1., 1.]];
/// let t = [[0.], [1.], [1.], [0.]];
/// let first = trainer.step(&x, &t)?;
/// for _ in 0..50 { trainer.step(&x, &t)?; }
/// assert!(trainer.loss(&x, &t)? < first);
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Trainer<L: Layer, O, E, const N: usize> {
    /// The network's parameters.
    pub net: L,
    /// Forward buffers of the last batch: A^l and Z^(l+1) of every layer.
    pub cache: L::Cache<N>,
    /// Backward buffers of the last batch: dE/dZ^(l+1) and dE/dA^l of every layer.
    pub delta: L::Delta<N>,
    /// dE/dW^l and dE/db^l of the last batch.
    pub grads: L::Grads,
    /// The optimizer and its state.
    pub optimizer: O,
    /// The error function E.
    pub loss: E,
    batch_x: [L::Input; N],
    batch_t: [L::Output; N],
}

/// The result of [`Trainer::train_epoch`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochReport<S> {
    /// Optimizer steps taken (batches of N).
    pub batches: usize,
    /// The mean of the batch losses, each taken before its update.
    pub mean_loss: S,
    /// Samples trained on, counting repeats.
    pub trained: usize,
    /// Samples left out by [`Remainder::Skip`].
    pub skipped: usize,
    /// Samples trained on twice by [`Remainder::Wrap`].
    pub repeated: usize,
}

/// The result of [`Trainer::evaluate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation<S> {
    /// The mean loss per sample over the whole dataset.
    pub loss: S,
    /// Samples whose output picks the target's class: argmax for two or more outputs,
    /// the same side of ½ for one output. A sample with a non-finite output is never
    /// correct.
    pub correct: usize,
    /// Samples whose output holds a NaN or an infinity (a diverged or corrupted
    /// network); they are counted in `total` but never in `correct`, and they make
    /// `loss` non-finite.
    pub non_finite: usize,
    /// Samples evaluated.
    pub total: usize,
}

impl<S> Evaluation<S> {
    /// `correct / total`, in [0, 1] (0 for no samples).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.correct as f64 / self.total as f64
        }
    }
}

impl<L: Layer, O, E, const N: usize> Trainer<L, O, E, N> {
    /// The bytes of each part of this trainer.
    pub const FOOTPRINT: Footprint = Footprint {
        params: size_of::<L>(),
        grads: size_of::<L::Grads>(),
        optimizer: size_of::<O>(),
        cache: size_of::<L::Cache<N>>(),
        delta: size_of::<L::Delta<N>>(),
        other: size_of::<Self>()
            - size_of::<L>()
            - size_of::<L::Grads>()
            - size_of::<O>()
            - size_of::<L::Cache<N>>()
            - size_of::<L::Delta<N>>(),
    };

    /// A trainer for `net`, with zeroed buffers.
    ///
    /// `const`, so a trainer can initialise a `static`.
    pub const fn new(net: L, optimizer: O, loss: E) -> Self {
        const { assert!(N > 0, "the batch size N must be at least 1") };
        Self {
            net,
            cache: <L::Cache<N>>::ZERO,
            delta: <L::Delta<N>>::ZERO,
            grads: L::Grads::ZERO,
            optimizer,
            loss,
            batch_x: <[L::Input; N]>::ZERO,
            batch_t: <[L::Output; N]>::ZERO,
        }
    }

    /// Runs the network forward on `x` and returns Y.
    ///
    /// Non-finite inputs are not rejected here: they give non-finite outputs and
    /// change nothing but the forward buffers.
    pub fn predict(&mut self, x: &[L::Input; N]) -> &[L::Output; N] {
        self.net.forward(x, &mut self.cache);
        L::output(&self.cache)
    }
}

impl<L: Layer, O, E: Loss<L::Scalar>, const N: usize> Trainer<L, O, E, N> {
    /// E(Y, T) for the batch, without backward or update.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteInput`] / [`Error::NonFiniteTarget`] if `x` / `t` hold NaN or ±∞,
    /// [`Error::InvalidTarget`] if a target lies outside the loss's domain.
    pub fn loss(&mut self, x: &[L::Input; N], t: &[L::Output; N]) -> Result<L::Scalar, Error> {
        check_batch::<L, E, N>(&self.loss, x, t)?;
        self.net.forward(x, &mut self.cache);
        Ok(self.loss.loss(L::output(&self.cache), t))
    }

    /// Forward, loss and backward on a batch, without an update: returns E and leaves
    /// every gradient in [`grads`](Trainer::grads) and [`delta`](Trainer::delta), and
    /// dE/dX in `dx` if given.
    ///
    /// # Errors
    ///
    /// [`Error::NonFiniteInput`] / [`Error::NonFiniteTarget`] if `x` / `t` hold NaN or ±∞,
    /// [`Error::InvalidTarget`] if a target lies outside the loss's domain; nothing is
    /// changed then.
    pub fn gradients(
        &mut self,
        x: &[L::Input; N],
        t: &[L::Output; N],
        dx: Option<&mut [L::Input; N]>,
    ) -> Result<L::Scalar, Error> {
        check_batch::<L, E, N>(&self.loss, x, t)?;
        let Self {
            net,
            cache,
            delta,
            grads,
            loss,
            ..
        } = self;
        Ok(forward_backward(net, cache, delta, grads, loss, x, t, dx))
    }

    /// Evaluates the network on a whole dataset, in batches of `N`: mean loss and
    /// classification accuracy. Only the forward buffers change.
    ///
    /// A last partial batch is padded with copies of its last sample, whose outputs
    /// are not counted. A row whose output is not finite is counted in
    /// [`Evaluation::non_finite`] and never as correct.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyDataset`], non-finite data ([`Error::NonFiniteInput`],
    /// [`Error::NonFiniteTarget`]), a target outside the loss's domain
    /// ([`Error::InvalidTarget`]), or an error of [`Dataset::load`].
    pub fn evaluate<D: Dataset<L::Input, L::Output>>(
        &mut self,
        data: &D,
    ) -> Result<Evaluation<L::Scalar>, Error> {
        let len = data.len();
        if len == 0 {
            return Err(Error::EmptyDataset);
        }
        let mut sum = L::Scalar::ZERO;
        let mut correct = 0;
        let mut non_finite = 0;
        let mut start = 0;
        while start < len {
            let rows = (len - start).min(N);
            self.stage(data, |k| start + k.min(rows - 1))?;
            check_batch::<L, E, N>(&self.loss, &self.batch_x, &self.batch_t)?;
            self.net.forward(&self.batch_x, &mut self.cache);
            let y = L::output(&self.cache);
            for (y, t) in y.iter().zip(&self.batch_t).take(rows) {
                sum += self.loss.row_loss(y.as_ref(), t.as_ref());
                correct += usize::from(same_class(y.as_ref(), t.as_ref()));
                non_finite += usize::from(!all_finite(y.as_ref()));
            }
            start += rows;
        }
        Ok(Evaluation {
            loss: sum / L::Scalar::from_f64(len as f64),
            correct,
            non_finite,
            total: len,
        })
    }

    /// Copies the samples at `index(0..N)` into the staging batch.
    fn stage<D: Dataset<L::Input, L::Output>>(
        &mut self,
        data: &D,
        index: impl Fn(usize) -> usize,
    ) -> Result<(), Error> {
        for (k, (x, t)) in self
            .batch_x
            .iter_mut()
            .zip(self.batch_t.iter_mut())
            .enumerate()
        {
            data.load(index(k), x, t)?;
        }
        Ok(())
    }
}

impl<L: Layer, O: Optimizer<L>, E: Loss<L::Scalar>, const N: usize> Trainer<L, O, E, N> {
    /// One training step on a batch: forward, loss, backward, update. Returns E(Y, T)
    /// before the update.
    ///
    /// The step is guarded: it changes the parameters and the optimizer state only if
    /// the loss, every gradient and every new value are finite. A refused step
    /// leaves the forward and backward buffers ([`cache`](Trainer::cache),
    /// [`delta`](Trainer::delta), [`grads`](Trainer::grads)) holding that batch's
    /// values, which may be NaN or infinite; the next step overwrites them.
    ///
    /// # Errors
    ///
    /// Nothing but those buffers is changed on any error:
    ///
    /// * [`Error::NonFiniteInput`] / [`Error::NonFiniteTarget`] if `x` / `t` hold NaN
    ///   or ±∞, [`Error::InvalidTarget`] if a target lies outside the loss's domain
    ///   ([`Loss::check_target`]) (then not even the buffers are touched);
    /// * [`Error::Unconfigured`] if the optimizer was never given a configuration;
    /// * [`Error::NonFiniteLoss`] if E(Y, T) is NaN or infinite;
    /// * [`Error::NonFiniteGradient`] if a gradient is;
    /// * [`Error::NonFiniteUpdate`] if a new parameter or optimizer state value would be.
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::*;
    /// type Net = Dense<1, 1, Identity>;
    /// let mut net = Net::ZERO;
    /// net.w = [[1.0]];
    /// let mut trainer = Trainer::<_, _, _, 1>::new(net, Sgd::<Net>::new(SgdConfig::new(0.1))?, Mse);
    ///
    /// // A finite but huge input whose squared error overflows f32: refused, nothing moves.
    /// assert_eq!(trainer.step(&[[1e30]], &[[0.0]]), Err(Error::NonFiniteLoss));
    /// assert_eq!(trainer.net.w, [[1.0]]);
    /// assert_eq!(trainer.step(&[[f32::NAN]], &[[0.0]]), Err(Error::NonFiniteInput));
    /// trainer.step(&[[1.0]], &[[0.0]])?;
    /// assert!(trainer.net.w[0][0] < 1.0);
    /// # Ok::<(), Error>(())
    /// ```
    pub fn step(&mut self, x: &[L::Input; N], t: &[L::Output; N]) -> Result<L::Scalar, Error> {
        check_batch::<L, E, N>(&self.loss, x, t)?;
        self.learn(Some((x, t)), None)
    }

    /// [`step`](Trainer::step), refused before the update if the batch's loss is above
    /// `max_loss`: a gate that keeps an outlier batch from moving the network.
    ///
    /// # Errors
    ///
    /// As [`step`](Trainer::step), and [`Error::LossAboveLimit`] if E(Y, T) > `max_loss`
    /// (nothing but the buffers is changed then), or [`Error::InvalidHyperParameter`]
    /// if `max_loss` is NaN (+∞ means no limit).
    ///
    /// # Examples
    ///
    /// ```
    /// use stackprop::*;
    /// type Net = Dense<1, 1, Identity>;
    /// let mut net = Net::ZERO;
    /// net.w = [[1.0]];
    /// let mut trainer = Trainer::<_, _, _, 1>::new(net, Sgd::<Net>::new(SgdConfig::new(0.1))?, Mse);
    /// assert_eq!(trainer.step_with_limit(&[[100.0]], &[[0.0]], 10.0), Err(Error::LossAboveLimit));
    /// assert_eq!(trainer.net.w, [[1.0]]);
    /// assert_eq!(trainer.step_with_limit(&[[1.0]], &[[0.0]], 10.0), Ok(1.0));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn step_with_limit(
        &mut self,
        x: &[L::Input; N],
        t: &[L::Output; N],
        max_loss: L::Scalar,
    ) -> Result<L::Scalar, Error> {
        if max_loss.partial_cmp(&max_loss).is_none() {
            return Err(Error::InvalidHyperParameter {
                name: "max_loss",
                expected: "not NaN",
            });
        }
        check_batch::<L, E, N>(&self.loss, x, t)?;
        self.learn(Some((x, t)), Some(max_loss))
    }

    /// Forward, backward and guarded update on `(x, t)`, or on the staged batch if
    /// `None`. The data must have been checked.
    fn learn(
        &mut self,
        batch: Option<(&[L::Input; N], &[L::Output; N])>,
        max_loss: Option<L::Scalar>,
    ) -> Result<L::Scalar, Error> {
        let Self {
            net,
            cache,
            delta,
            grads,
            optimizer,
            loss,
            batch_x,
            batch_t,
        } = self;
        let (x, t) = batch.unwrap_or((batch_x, batch_t));
        let e = forward_backward(net, cache, delta, grads, loss, x, t, None);
        if !e.is_finite() {
            return Err(Error::NonFiniteLoss);
        }
        if max_loss.is_some_and(|max_loss| e > max_loss) {
            return Err(Error::LossAboveLimit);
        }
        optimizer.update(net, grads)?;
        Ok(e)
    }

    /// One pass over `data` in batches of `N`, in an order shuffled with `rng`.
    ///
    /// `remainder` says what happens to the last `len % N` samples; see [`Remainder`].
    /// With `rng: None` the order is the dataset's own.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyDataset`]; [`Error::PartialBatch`] under [`Remainder::Reject`]
    /// and [`Error::NoFullBatch`] under [`Remainder::Skip`] with fewer than `N`
    /// samples (both before any update); [`Error::Unconfigured`] for an optimizer
    /// never configured; a target outside the loss's domain ([`Error::InvalidTarget`]),
    /// non-finite data ([`Error::NonFiniteInput`],
    /// [`Error::NonFiniteTarget`]) or an error of [`Dataset::load`], which stop the
    /// epoch before the batch holding that sample is used: batches before it stay trained.
    /// A batch refused by the step's guard ([`Error::NonFiniteLoss`],
    /// [`Error::NonFiniteGradient`], [`Error::NonFiniteUpdate`]; see
    /// [`step`](Trainer::step)) stops the epoch the same way.
    pub fn train_epoch<D: Dataset<L::Input, L::Output>>(
        &mut self,
        data: &D,
        rng: Option<&mut SplitMix64>,
        remainder: Remainder,
    ) -> Result<EpochReport<L::Scalar>, Error> {
        let len = data.len();
        if len == 0 {
            return Err(Error::EmptyDataset);
        }
        let partial = len % N;
        if partial != 0 && remainder == Remainder::Reject {
            return Err(Error::PartialBatch { len, batch: N });
        }
        if len < N && remainder == Remainder::Skip {
            return Err(Error::NoFullBatch { len, batch: N });
        }
        let order = match rng {
            Some(rng) => Permutation::new(len, rng),
            None => Permutation::identity(len),
        };
        let (batches, skipped, repeated) = match (partial, remainder) {
            (0, _) => (len / N, 0, 0),
            (_, Remainder::Skip) => (len / N, partial, 0),
            _ => (len / N + 1, 0, N - partial),
        };
        let mut sum = L::Scalar::ZERO;
        for batch in 0..batches {
            // Positions past the end wrap to the start of this epoch's order.
            // `start ≤ len`, and `start + k` is formed only below `len`: no overflow.
            let start = batch * N;
            let room = len - start;
            self.stage(data, |k| {
                order.get(if k < room {
                    start + k
                } else {
                    (k - room) % len
                })
            })?;
            check_batch::<L, E, N>(&self.loss, &self.batch_x, &self.batch_t)?;
            sum += self.learn(None, None)?;
        }
        let mean_loss = if batches == 0 {
            sum
        } else {
            sum / L::Scalar::from_f64(batches as f64)
        };
        Ok(EpochReport {
            batches,
            mean_loss,
            trained: batches.saturating_mul(N),
            skipped,
            repeated,
        })
    }
}

impl<L: Layer, O: Zero, E: Zero, const N: usize> Zero for Trainer<L, O, E, N>
where
    L: Zero,
{
    const ZERO: Self = Self::new(L::ZERO, O::ZERO, E::ZERO);
}

impl<L: Layer + Zero, O: Zero, E: Zero, const N: usize> Trainer<L, O, E, N> {
    /// Rebuilds the trainer where it is: every buffer and the optimizer zeroed (as in
    /// [`Trainer::ZERO`](Zero::ZERO)), then fresh parameters drawn with `init` from
    /// `rng`. Configure the optimizer afterwards: its zero refuses to step until it
    /// is given a configuration.
    ///
    /// Unlike [`Trainer::new`], nothing the size of the trainer passes through the
    /// stack, even in a debug build, so a trainer too large for a thread's stack can
    /// be built in a `static` (as on a microcontroller), a `Box` or any other place.
    ///
    /// # Examples
    ///
    /// A 1.7 MB trainer built and trained on a thread with a 256 KiB stack:
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use stackprop::prelude::*;
    ///
    /// type Wide = (Dense<256, 256, Relu>, Dense<256, 256, Relu>, Dense<256, 10, Identity>);
    /// type T = Trainer<Wide, Sgd<Wide>, SoftmaxCrossEntropy, 64>;
    /// // Constant-initialised: in zeroed memory, never on a stack.
    /// static TRAINER: Mutex<T> = Mutex::new(T::ZERO);
    ///
    /// let thread = std::thread::Builder::new().stack_size(256 * 1024).spawn(|| {
    ///     let mut trainer = TRAINER.lock().map_err(|_| "poisoned")?;
    ///     trainer.init_in_place(Init::HeUniform, &mut SplitMix64::new(1));
    ///     trainer.optimizer.set_config(SgdConfig::new(0.01))?;
    ///     let (x, t) = (vec![0.5; 64 * 256], vec![0.1; 64 * 10]);
    ///     let loss = trainer.step(batch(&x)?, batch(&t)?)?;
    ///     Ok::<_, Box<dyn std::error::Error + Send + Sync>>(loss)
    /// })?;
    /// let loss = thread.join().expect("no overflow").map_err(|e| e.to_string())?;
    /// assert!(loss.is_finite());
    /// assert_eq!(T::FOOTPRINT.total(), 1_675_896);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn init_in_place(&mut self, init: Init, rng: &mut SplitMix64) {
        // Assigning the constant writes it straight into place: no temporary.
        *self = Self::ZERO;
        self.net.init(init, rng);
    }
}

/// Refuses non-finite inputs, then non-finite targets, then targets outside the
/// loss's domain ([`Loss::check_target`]).
fn check_batch<L: Layer, E: Loss<L::Scalar>, const N: usize>(
    loss: &E,
    x: &[L::Input; N],
    t: &[L::Output; N],
) -> Result<(), Error> {
    if !x.iter().all(|row| all_finite(row.as_ref())) {
        return Err(Error::NonFiniteInput);
    }
    if !t.iter().all(|row| all_finite(row.as_ref())) {
        return Err(Error::NonFiniteTarget);
    }
    t.iter().try_for_each(|row| loss.check_target(row.as_ref()))
}

/// Forward, loss and backward of one batch; returns E. Takes the trainer's fields
/// one by one so a batch staged inside the trainer is used in place, not copied.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn forward_backward<L: Layer, E: Loss<L::Scalar>, const N: usize>(
    net: &L,
    cache: &mut L::Cache<N>,
    delta: &mut L::Delta<N>,
    grads: &mut L::Grads,
    loss: &E,
    x: &[L::Input; N],
    t: &[L::Output; N],
    dx: Option<&mut [L::Input; N]>,
) -> L::Scalar {
    net.forward(x, cache);
    let y = L::output(cache);
    match L::output_grad(delta) {
        Some(dy) => {
            let e = loss.loss_and_grad(y, t, dy);
            net.backward(x, cache, delta, grads, dx);
            e
        }
        // Nothing trainable: a Frozen last layer takes no gradient.
        None => loss.loss(y, t),
    }
}
