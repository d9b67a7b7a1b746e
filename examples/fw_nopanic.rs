//! Firmware that proves the training path cannot panic: it links with `panic-never`,
//! whose panic handler is an undefined symbol, so if any panic (a failed bounds check,
//! an overflow, an `unwrap`) survives optimisation anywhere in the image, linking fails.
//!
//! It runs what a device runs: training steps with SGD and Adam, a shuffled epoch over a
//! dataset, an evaluation and a prediction of a 64-32-10 network, its int8 quantisation
//! and int8 predictions, saving its training state, loading it back from a corrupted
//! copy, and a checkpoint save and recovery on a NOR flash, all on inputs the compiler cannot see through (`black_box`), so no check
//! is removed by constant folding.
//!
//! ```sh
//! cargo run --release --example fw_nopanic --target thumbv7em-none-eabihf
//! ```
//!
//! Nothing here may format text (`core::fmt` has panicking paths), so it reports with
//! plain byte strings.

#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod device {
    use core::hint::black_box;

    use cortex_m_rt::entry;
    use cortex_m_semihosting::{debug, hio};
    use embedded_storage::nor_flash::{
        ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
    };
    use panic_never as _;
    use stackprop::persist::{Checkpoints, Progress};
    use stackprop::*;

    type Net = (Dense<64, 32, Relu>, Dense<32, 10, Identity>);
    const N: usize = 32;
    type SgdTrainer = Trainer<Net, Sgd<Net, WithMomentum>, SoftmaxCrossEntropy, N>;
    type AdamTrainer = Trainer<Net, Adam<Net>, SoftmaxCrossEntropy, N>;
    /// A dataset that is not a multiple of the batch, so the remainder path runs too.
    const SAMPLES: usize = 40;
    const RECORD: usize = AdamTrainer::STATE_RECORD_LEN;
    /// Two checkpoint slots of whole 4 KiB sectors.
    const SLOT: usize = RECORD.div_ceil(4096) * 4096 + 4096;
    type Flash = RamFlash<{ 2 * SLOT }>;

    #[entry]
    fn main() -> ! {
        static mut SGD: SgdTrainer = SgdTrainer::ZERO;
        static mut ADAM: AdamTrainer = AdamTrainer::ZERO;
        static mut X: [[f32; 64]; SAMPLES] = [[0.0; 64]; SAMPLES];
        static mut T: [[f32; 10]; SAMPLES] = [[0.0; 10]; SAMPLES];
        static mut BYTES: [u8; RECORD] = [0; RECORD];
        static mut FLASH: Flash = RamFlash([0xff; 2 * SLOT]);
        let ok = run(SGD, ADAM, X, T).is_ok() && persist(ADAM, BYTES, FLASH).is_ok();
        say(if ok {
            b"no-panic firmware ran\n"
        } else {
            b"error\n"
        });
        debug::exit(if ok {
            debug::EXIT_SUCCESS
        } else {
            debug::EXIT_FAILURE
        });
        #[allow(clippy::empty_loop)]
        loop {}
    }

    fn run(
        sgd: &mut SgdTrainer,
        adam: &mut AdamTrainer,
        x: &mut [[f32; 64]; SAMPLES],
        t: &mut [[f32; 10]; SAMPLES],
    ) -> Result<(), Error> {
        let mut rng = SplitMix64::new(black_box(11));
        for (x, t) in x.iter_mut().zip(t.iter_mut()) {
            for v in x.iter_mut() {
                *v = rng.next_f64() as f32;
            }
            if let Some(hot) = t.get_mut(rng.below(10) as usize) {
                *hot = 1.0;
            }
        }
        let (x, t) = (black_box(&*x), black_box(&*t));

        sgd.net.init(black_box(Init::HeUniform), &mut rng);
        let config = SgdConfig::new(0.1)
            .with_momentum(0.9)
            .with_weight_decay(1e-4)
            .with_clip_norm(5.0);
        sgd.optimizer.set_config(black_box(config))?;
        let batch_x = batch(black_box(x.as_flattened()).get(..N * 64).unwrap_or(&[]))?;
        let batch_t = batch(black_box(t.as_flattened()).get(..N * 10).unwrap_or(&[]))?;
        sgd.step(batch_x, batch_t)?;
        black_box(sgd.predict(batch_x));

        adam.net = sgd.net;
        adam.optimizer
            .set_config(black_box(AdamConfig::new(1e-3)))?;
        adam.step(batch_x, batch_t)?;

        let data = Samples::new(x, t)?;
        let remainder = black_box(Remainder::Wrap);
        adam.train_epoch(&data, Some(&mut rng), remainder)?;
        sgd.train_epoch(&data, None, remainder)?;
        black_box(adam.evaluate(&data)?);

        // Int8: quantise on the device, then predict from float and from int8 inputs.
        let q = stackprop::quant::quantize(&adam.net, black_box(&x[..]))?;
        let first = black_box(x.first().ok_or(Error::EmptyDataset)?);
        black_box(q.predict(first)?);
        black_box(q.predict_q(&q.quantize_input(first)?));
        Ok(())
    }

    /// Saves the training state, loads a copy with one flipped bit (refused), then
    /// checkpoints it to flash and recovers it.
    fn persist(
        adam: &mut AdamTrainer,
        bytes: &mut [u8; RECORD],
        flash: &'static mut Flash,
    ) -> Result<(), &'static [u8]> {
        let progress = Progress {
            steps: black_box(7),
            rng: SplitMix64::new(black_box(3)),
        };
        let len = adam
            .save_state(&progress, bytes)
            .map_err(|_| &b"saving the state failed\n"[..])?;
        let position = black_box(len / 2) % RECORD;
        if let Some(byte) = bytes.get_mut(position) {
            *byte ^= black_box(1);
        }
        if adam.load_state(black_box(&bytes[..])).is_ok() {
            return Err(b"a corrupted record was accepted\n");
        }
        let mut checkpoints =
            Checkpoints::new(flash, 0, SLOT as u32).map_err(|_| &b"bad flash geometry\n"[..])?;
        for _ in 0..black_box(3) {
            checkpoints
                .save_state(adam, &progress, bytes)
                .map_err(|_| &b"checkpoint save failed\n"[..])?;
        }
        match checkpoints.load_state(adam, bytes) {
            Ok(Some(loaded)) if loaded == progress => Ok(()),
            _ => Err(b"checkpoint recovery failed\n"),
        }
    }

    /// NOR flash in RAM: erased bytes read 0xFF, writes only clear bits.
    struct RamFlash<const LEN: usize>([u8; LEN]);

    #[derive(Debug)]
    struct OutOfBounds;

    impl NorFlashError for OutOfBounds {
        fn kind(&self) -> NorFlashErrorKind {
            NorFlashErrorKind::OutOfBounds
        }
    }

    impl<const LEN: usize> ErrorType for RamFlash<LEN> {
        type Error = OutOfBounds;
    }

    impl<const LEN: usize> RamFlash<LEN> {
        fn range(&mut self, from: u32, len: usize) -> Result<&mut [u8], OutOfBounds> {
            let from = from as usize;
            self.0
                .get_mut(from..from.checked_add(len).ok_or(OutOfBounds)?)
                .ok_or(OutOfBounds)
        }
    }

    impl<const LEN: usize> ReadNorFlash for RamFlash<LEN> {
        const READ_SIZE: usize = 1;

        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
            bytes.copy_from_slice(self.range(offset, bytes.len())?);
            Ok(())
        }

        fn capacity(&self) -> usize {
            LEN
        }
    }

    impl<const LEN: usize> NorFlash for RamFlash<LEN> {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = 4096;

        fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
            let len = to.checked_sub(from).ok_or(OutOfBounds)? as usize;
            self.range(from, len)?.fill(0xff);
            Ok(())
        }

        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
            for (cell, &byte) in self.range(offset, bytes.len())?.iter_mut().zip(bytes) {
                *cell &= byte;
            }
            Ok(())
        }
    }

    fn say(text: &[u8]) {
        if let Ok(mut out) = hio::hstdout() {
            let _ = out.write_all(text);
        }
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "fw_nopanic is firmware: cargo run --release --example fw_nopanic --target thumbv7em-none-eabihf"
    );
}
