//! [`SnapshotStore`]: where a [`Watchdog`](crate::Watchdog) keeps the last good
//! network and optimizer state, and [`Snapshot`], the in-memory store.

use core::mem::size_of;

use crate::{Error, Zero};

/// Keeps one saved copy of a network `L` and its optimizer `O` (parameters and
/// optimizer state, hyper-parameters included), to roll back to.
///
/// [`Snapshot`] keeps it in RAM. A store in flash implements the same two calls,
/// writing and reading the values in whatever form it likes.
///
/// # Examples
///
/// A store that counts its saves, around the in-memory one:
///
/// ```
/// use stackprop::{Error, Snapshot, SnapshotStore};
///
/// struct Counting<L, O> { inner: Snapshot<L, O>, saves: u32 }
///
/// impl<L: Clone, O: Clone> SnapshotStore<L, O> for Counting<L, O> {
///     fn save(&mut self, net: &L, optimizer: &O) -> Result<(), Error> {
///         self.saves += 1;
///         self.inner.save(net, optimizer)
///     }
///     fn restore(&mut self, net: &mut L, optimizer: &mut O) -> Result<(), Error> {
///         self.inner.restore(net, optimizer)
///     }
/// }
///
/// let mut store = Counting { inner: Snapshot::new(0_u8, 0_u8), saves: 0 };
/// let (mut net, mut optimizer) = (7_u8, 8_u8);
/// assert_eq!(store.restore(&mut net, &mut optimizer), Err(Error::NoSnapshot));
/// store.save(&net, &optimizer)?;
/// net = 0;
/// store.restore(&mut net, &mut optimizer)?;
/// assert_eq!((net, store.saves), (7, 1));
/// # Ok::<(), Error>(())
/// ```
pub trait SnapshotStore<L, O> {
    /// Saves `net` and `optimizer`, replacing any earlier snapshot.
    ///
    /// # Errors
    ///
    /// Whatever the store cannot do (the in-memory [`Snapshot`] never fails).
    fn save(&mut self, net: &L, optimizer: &O) -> Result<(), Error>;

    /// Writes the saved snapshot into `net` and `optimizer`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSnapshot`] if nothing was saved, or whatever the store cannot do.
    fn restore(&mut self, net: &mut L, optimizer: &mut O) -> Result<(), Error>;
}

/// A snapshot in RAM: one more copy of the network's parameters and of the optimizer
/// (its state and hyper-parameters). [`Snapshot::BYTES`] is its size.
///
/// # Examples
///
/// ```
/// use stackprop::{Adam, Dense, Identity, Relu, Snapshot, Trainer, SoftmaxCrossEntropy};
/// type Net = (Dense<16, 32, Relu>, Dense<32, 4, Identity>);
/// type Opt = Adam<Net>;
/// // A snapshot costs the parameters plus the optimizer, nothing else.
/// type T = Trainer<Net, Opt, SoftmaxCrossEntropy, 8>;
/// assert!(Snapshot::<Net, Opt>::BYTES <= T::FOOTPRINT.params + T::FOOTPRINT.optimizer + 8);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<L, O> {
    net: L,
    optimizer: O,
    saved: bool,
}

impl<L, O> Snapshot<L, O> {
    /// The bytes a snapshot takes: a network, an optimizer and a flag.
    pub const BYTES: usize = size_of::<Self>();

    /// An empty snapshot, using `net` and `optimizer` as placeholders until the first
    /// [`save`](SnapshotStore::save). `const`, so it can initialise a `static`.
    pub const fn new(net: L, optimizer: O) -> Self {
        Self {
            net,
            optimizer,
            saved: false,
        }
    }

    /// `true` once something has been saved.
    pub const fn is_saved(&self) -> bool {
        self.saved
    }
}

impl<L: Zero, O: Zero> Zero for Snapshot<L, O> {
    const ZERO: Self = Self::new(L::ZERO, O::ZERO);
}

impl<L: Clone, O: Clone> SnapshotStore<L, O> for Snapshot<L, O> {
    fn save(&mut self, net: &L, optimizer: &O) -> Result<(), Error> {
        self.net.clone_from(net);
        self.optimizer.clone_from(optimizer);
        self.saved = true;
        Ok(())
    }

    fn restore(&mut self, net: &mut L, optimizer: &mut O) -> Result<(), Error> {
        if !self.saved {
            return Err(Error::NoSnapshot);
        }
        net.clone_from(&self.net);
        optimizer.clone_from(&self.optimizer);
        Ok(())
    }
}
