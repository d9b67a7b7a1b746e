//! [`Zero`]: the all-zero value of a type as a constant, so buffers can initialise `static`s.

/// A type with an all-zero value that is known at compile time.
///
/// `[T; N]: Default` stops at `N = 32`, and trait methods cannot run in a `const`
/// context, so every parameter, gradient and buffer type of this crate names its zero
/// as an associated constant instead. That is what lets a whole network, its buffers
/// and its optimizer state initialise a `static`.
///
/// # Examples
///
/// ```
/// use stackprop::Zero;
/// const BUF: [[f32; 3]; 2] = <[[f32; 3]; 2]>::ZERO;
/// assert_eq!(BUF, [[0.0; 3]; 2]);
/// ```
pub trait Zero: Sized {
    /// The all-zero value.
    const ZERO: Self;
}

impl Zero for f32 {
    const ZERO: Self = 0.0;
}

impl Zero for f64 {
    const ZERO: Self = 0.0;
}

impl Zero for () {
    const ZERO: Self = ();
}

impl<T: Zero + Copy, const N: usize> Zero for [T; N] {
    const ZERO: Self = [T::ZERO; N];
}

macro_rules! zero_tuple {
    ($($t:ident),+) => {
        impl<$($t: Zero),+> Zero for ($($t,)+) {
            const ZERO: Self = ($($t::ZERO,)+);
        }
    };
}

zero_tuple!(A);
zero_tuple!(A, B);
zero_tuple!(A, B, C);
zero_tuple!(A, B, C, D);
zero_tuple!(A, B, C, D, E);
zero_tuple!(A, B, C, D, E, F);
zero_tuple!(A, B, C, D, E, F, G);
zero_tuple!(A, B, C, D, E, F, G, H);
zero_tuple!(A, B, C, D, E, F, G, H, I);
zero_tuple!(A, B, C, D, E, F, G, H, I, J);
zero_tuple!(A, B, C, D, E, F, G, H, I, J, K);
zero_tuple!(A, B, C, D, E, F, G, H, I, J, K, L);
