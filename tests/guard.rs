//! The training step's guard (a step that would make anything non-finite changes
//! nothing) and gradient clipping, against numbers worked out here in f64.

use stackprop::*;

/// y = w0·x0 + w1·x1 + b, in f64.
type Lin = Dense<2, 1, Identity, f64>;
/// The same in f32, where overflow is easy to reach.
type Lin32 = Dense<1, 1, Identity>;

const TOL: f64 = 1e-14;

fn lin() -> Lin {
    let mut net = Lin::ZERO;
    net.w = [[1.0], [2.0]];
    net.b = [0.5];
    net
}

fn lin32(w: f32) -> Lin32 {
    let mut net = Lin32::ZERO;
    net.w = [[w]];
    net
}

/// x = (1, 2), t = 0: y = 5.5, dE/dy = 11, so dE/dw = (11, 22) and dE/db = 11.
const X: [[f64; 2]; 1] = [[1.0, 2.0]];
const T: [[f64; 1]; 1] = [[0.0]];
const G: [f64; 3] = [11.0, 22.0, 11.0];

fn params(net: &Lin) -> [f64; 3] {
    [net.w[0][0], net.w[1][0], net.b[0]]
}

fn assert_close(what: &str, got: [f64; 3], want: [f64; 3]) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= TOL * w.abs().max(1.0),
            "{what}[{k}]: got {g}, want {w}"
        );
    }
}

/// PyTorch's `clip_grad_norm_` then `clip_grad_value_`, on the three gradients.
fn clipped(g: [f64; 3], max_norm: Option<f64>, max_value: Option<f64>) -> [f64; 3] {
    let norm = g.iter().map(|g| g * g).sum::<f64>().sqrt();
    let coef = max_norm.map_or(1.0, |m| (m / (norm + 1e-6)).min(1.0));
    let limit = max_value.unwrap_or(f64::INFINITY);
    g.map(|g| (g * coef).clamp(-limit, limit))
}

fn sgd_step(config: SgdConfig<f64>) -> [f64; 3] {
    let sgd = Sgd::<Lin, WithMomentum>::new(config).expect("valid config");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin(), sgd, Mse);
    assert_eq!(trainer.step(&X, &T), Ok(30.25));
    params(&trainer.net)
}

#[test]
fn the_example_gradients_are_as_stated() {
    let sgd = Sgd::<Lin, WithMomentum>::new(SgdConfig::new(0.0)).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin(), sgd, Mse);
    trainer.gradients(&X, &T, None).expect("finite");
    let g: Vec<f64> = trainer.grads.slices().flatten().copied().collect();
    assert_eq!(g, G);
}

#[test]
fn sgd_clips_by_norm_then_value_like_pytorch() {
    let lr = 0.1;
    let p = params(&lin());
    // (max_norm, max_value): scaled, not scaled (coef > 1), clamped, both.
    let cases = [
        (Some(1.0), None),
        (Some(100.0), None),
        (None, Some(5.0)),
        (None, Some(100.0)),
        (Some(10.0), Some(3.0)),
        (Some(30.0), Some(12.0)),
    ];
    for (max_norm, max_value) in cases {
        let mut config = SgdConfig::new(lr);
        config.clip_norm = max_norm;
        config.clip_value = max_value;
        let g = clipped(G, max_norm, max_value);
        let want = [0, 1, 2].map(|k| p[k] - lr * g[k]);
        assert_close(
            &format!("{max_norm:?} {max_value:?}"),
            sgd_step(config),
            want,
        );
    }
    // By hand: norm √726 = 26.944…, so a max norm of 1 scales by 1 / (√726 + 1e-6).
    let coef = 1.0 / (726.0_f64.sqrt() + 1e-6);
    assert_close(
        "by hand",
        sgd_step(SgdConfig::new(lr).with_clip_norm(1.0)),
        [
            1.0 - 0.1 * 11.0 * coef,
            2.0 - 0.1 * 22.0 * coef,
            0.5 - 0.1 * 11.0 * coef,
        ],
    );
    assert_close(
        "by hand",
        sgd_step(SgdConfig::new(lr).with_clip_value(5.0)),
        [0.5, 1.5, 0.0],
    );
}

#[test]
fn clipping_comes_before_weight_decay_and_momentum() {
    let (lr, mu, wd) = (0.1, 0.9, 0.01);
    let config = SgdConfig::new(lr)
        .with_momentum(mu)
        .with_weight_decay(wd)
        .with_clip_norm(2.0);
    let sgd = Sgd::<Lin, WithMomentum>::new(config).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin(), sgd, Mse);
    let mut p = params(&lin());
    let mut v = [0.0; 3];
    for step in 0..3 {
        trainer.gradients(&X, &T, None).expect("finite");
        let g: Vec<f64> = trainer.grads.slices().flatten().copied().collect();
        let g = clipped([g[0], g[1], g[2]], Some(2.0), None);
        trainer.step(&X, &T).expect("finite");
        for k in 0..3 {
            let d = g[k] + wd * p[k];
            v[k] = if step == 0 { d } else { mu * v[k] + d };
            p[k] -= lr * v[k];
        }
        assert_close(&format!("step {step}"), params(&trainer.net), p);
    }
}

#[test]
fn adam_clips_like_pytorch() {
    let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
    let config = AdamConfig::new(lr).with_clip_norm(3.0).with_clip_value(1.0);
    let adam = Adam::<Lin>::new(config).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin(), adam, Mse);
    let (mut p, mut m, mut v) = (params(&lin()), [0.0; 3], [0.0; 3]);
    for k in 1..=3 {
        trainer.gradients(&X, &T, None).expect("finite");
        let g: Vec<f64> = trainer.grads.slices().flatten().copied().collect();
        let g = clipped([g[0], g[1], g[2]], Some(3.0), Some(1.0));
        trainer.step(&X, &T).expect("finite");
        for i in 0..3 {
            m[i] = b1 * m[i] + (1.0 - b1) * g[i];
            v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
            let m_hat = m[i] / (1.0 - b1.powi(k));
            let v_hat = v[i] / (1.0 - b2.powi(k));
            p[i] -= lr * m_hat / (v_hat.sqrt() + eps);
        }
        assert_close(&format!("step {k}"), params(&trainer.net), p);
    }
}

#[test]
fn clip_norm_survives_a_sum_of_squares_that_overflows() {
    // dE/dw = 2·y·x = 2e20 in f32: its square overflows, the norm does not.
    let config = SgdConfig::new(0.5_f32).with_clip_norm(1.0);
    let sgd = Sgd::<Lin32, WithMomentum>::new(config).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin32(1.0), sgd, Mse);
    // y = 1e10: dE/dw = 2e20, dE/db = 2e10, norm ≈ 2e20, so dw clips to ≈ 1.
    trainer.step(&[[1e10]], &[[0.0]]).expect("finite loss 1e20");
    assert!(
        (trainer.net.w[0][0] - 0.5).abs() < 1e-6,
        "{:?}",
        trainer.net.w
    );
    assert!(
        (trainer.net.b[0] + 0.5e-10).abs() < 1e-16,
        "{:?}",
        trainer.net.b
    );
}

#[test]
fn clip_thresholds_are_validated() {
    let bad = [0.0, -1.0, f64::NAN, f64::INFINITY];
    for value in bad {
        for (config, name) in [
            (SgdConfig::new(0.1).with_clip_norm(value), "clip_norm"),
            (SgdConfig::new(0.1).with_clip_value(value), "clip_value"),
        ] {
            match Sgd::<Lin, WithMomentum>::new(config) {
                Err(Error::InvalidHyperParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{value}: {other:?}"),
            }
        }
        for (config, name) in [
            (AdamConfig::new(0.1).with_clip_norm(value), "clip_norm"),
            (AdamConfig::new(0.1).with_clip_value(value), "clip_value"),
        ] {
            match Adam::<Lin>::new(config) {
                Err(Error::InvalidHyperParameter { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{value}: {other:?}"),
            }
        }
    }
}

/// Runs `step` and checks it fails with `want` and leaves the network and the
/// optimizer exactly as they were.
fn refused<O: Optimizer<Lin32> + core::fmt::Debug + Clone, const N: usize>(
    trainer: &mut Trainer<Lin32, O, Mse, N>,
    x: &[[f32; 1]; N],
    t: &[[f32; 1]; N],
    want: Error,
) {
    let (net, optimizer) = (trainer.net, format!("{:?}", trainer.optimizer));
    assert_eq!(trainer.step(x, t), Err(want));
    assert_eq!(trainer.net, net, "{want:?}: parameters changed");
    assert_eq!(
        format!("{:?}", trainer.optimizer),
        optimizer,
        "{want:?}: optimizer state changed"
    );
}

/// An overflowing step for an optimizer: (w, x, t, lr) with a finite loss and
/// gradient whose update leaves the f32 range.
type Overflow = (f32, f32, f32, f32);

/// SGD: w = 1, x = 1e3: dE/dw = 2e6, and lr = 1e38 makes the step 2e44.
const SGD_OVERFLOW: Overflow = (1.0, 1e3, 0.0, 1e38);
/// Adam steps by about lr against the moment's sign: from w = −3e38 with x = 1e-20 and
/// t = −1e19, dE/dw = 0.14 > 0, so w moves by about −1e38, past −3.4e38.
const ADAM_OVERFLOW: Overflow = (-3e38, 1e-20, -1e19, 1e38);

fn guarded<O>(optimizer: O, (w, x, t, lr): Overflow)
where
    O: Optimizer<Lin32> + LearningRate<f32> + core::fmt::Debug + Clone,
{
    let mut trainer = Trainer::<_, _, _, 1>::new(lin32(1.0), optimizer, Mse);
    // Two good steps, so momentum / moments hold something to protect.
    trainer.step(&[[1.0]], &[[0.0]]).expect("finite");
    trainer.step(&[[0.5]], &[[0.0]]).expect("finite");
    // (x·w)² overflows: the loss is infinite.
    refused(&mut trainer, &[[1e30]], &[[0.0]], Error::NonFiniteLoss);
    // Data errors come first and touch nothing at all.
    refused(&mut trainer, &[[f32::NAN]], &[[0.0]], Error::NonFiniteInput);
    refused(
        &mut trainer,
        &[[0.0]],
        &[[f32::INFINITY]],
        Error::NonFiniteTarget,
    );
    // A finite loss whose gradient overflows: w = 1e-34, x = 3e38 gives y ≈ 3e4,
    // E ≈ 9e8, dE/dw = 2·y·x ≈ 2e43 = ∞ in f32.
    let good = trainer.net;
    trainer.net.w = [[1e-34]];
    refused(&mut trainer, &[[3e38]], &[[0.0]], Error::NonFiniteGradient);
    // A finite gradient and a step that overflows.
    trainer.net.w = [[w]];
    trainer.optimizer.set_lr(lr).expect("finite");
    refused(&mut trainer, &[[x]], &[[t]], Error::NonFiniteUpdate);
    // The buffers of a refused step may hold non-finite values; the next step is fine.
    trainer.net = good;
    trainer.optimizer.set_lr(0.01).expect("finite");
    let before = trainer.net.w[0][0];
    trainer.step(&[[1.0]], &[[0.0]]).expect("finite");
    assert!(trainer.net.w[0][0] < before);
}

#[test]
fn a_refused_step_changes_neither_parameters_nor_optimizer_state() {
    let sgd = SgdConfig::new(0.1);
    guarded(
        Sgd::<Lin32, NoMomentum>::new(sgd).expect("valid"),
        SGD_OVERFLOW,
    );
    // Clamping must not turn an infinite gradient into a finite one.
    let clamped = sgd.with_clip_value(1.0);
    guarded(
        Sgd::<Lin32, NoMomentum>::new(clamped).expect("valid"),
        // The clamped step is lr·0.14 = 4.2e37, from −3e38: past −3.4e38.
        (-3e38, 1e-20, -1e19, 3e38),
    );
    let sgd = sgd.with_momentum(0.9).with_weight_decay(0.01);
    guarded(
        Sgd::<Lin32, WithMomentum>::new(sgd).expect("valid"),
        SGD_OVERFLOW,
    );
    let adam = AdamConfig::new(0.1);
    guarded(Adam::<Lin32>::new(adam).expect("valid"), ADAM_OVERFLOW);
    let adam = adam.with_clip_norm(1.0).with_clip_value(0.5);
    guarded(Adam::<Lin32>::new(adam).expect("valid"), ADAM_OVERFLOW);
}

#[test]
fn adam_takes_a_finite_step_from_huge_parameters() {
    // |p| above the cheap bound: the exact check runs and accepts the step.
    let adam = Adam::<Lin32>::new(AdamConfig::new(1.0)).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin32(1e38), adam, Mse);
    // x = 1e-30: y = 1e8, E = 1e16, dE/dw = 2e-22, finite; the step moves w by lr.
    trainer.step(&[[1e-30]], &[[0.0]]).expect("finite step");
    assert_eq!(trainer.net.w, [[1e38 - 1.0]]);
    assert_eq!(trainer.optimizer.steps(), 1);
    // Adam's step is about lr in size, so lr = 1e38 from w = -3e38 overflows: refused.
    let adam = Adam::<Lin32>::new(AdamConfig::new(1e38)).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin32(-3e38), adam, Mse);
    refused(&mut trainer, &[[-1e-30]], &[[0.0]], Error::NonFiniteUpdate);
    assert_eq!(trainer.optimizer.steps(), 0);
}

#[test]
fn an_epoch_stops_at_a_batch_the_guard_refuses() {
    let x = [[1.0], [1e30], [1.0], [1.0]];
    let t = [[0.0]; 4];
    let data = Samples::new(&x, &t).expect("same length");
    let sgd = Sgd::<Lin32, WithMomentum>::new(SgdConfig::new(0.1)).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin32(1.0), sgd, Mse);
    assert_eq!(
        trainer.train_epoch(&data, None, Remainder::Reject),
        Err(Error::NonFiniteLoss)
    );
    // The first batch was trained: w = 1 − 0.1·2 = 0.8.
    assert_eq!(trainer.net.w, [[0.8]]);
}

#[test]
fn a_loss_limit_gates_the_update() {
    let sgd = Sgd::<Lin32, WithMomentum>::new(SgdConfig::new(0.1)).expect("valid");
    let mut trainer = Trainer::<_, _, _, 1>::new(lin32(1.0), sgd, Mse);
    assert_eq!(
        trainer.step_with_limit(&[[3.0]], &[[0.0]], 8.0),
        Err(Error::LossAboveLimit)
    );
    assert_eq!(trainer.net.w, [[1.0]]);
    assert!(matches!(
        trainer.step_with_limit(&[[1.0]], &[[0.0]], f32::NAN),
        Err(Error::InvalidHyperParameter {
            name: "max_loss",
            ..
        })
    ));
    assert_eq!(trainer.step_with_limit(&[[2.0]], &[[0.0]], 8.0), Ok(4.0));
    // w = 0.2, b = −0.4 now, so y = 0 at x = 2; +∞ is no limit.
    let e = trainer.step_with_limit(&[[2.0]], &[[0.0]], f32::INFINITY);
    assert!(e.is_ok_and(|e| e < 1e-12), "{e:?}");
    assert!(
        trainer
            .step_with_limit(&[[1e3]], &[[0.0]], f32::INFINITY)
            .is_ok()
    );
}

/// The updates as written before clipping and the guard existed, in the same order of
/// operations: with clipping off, the guarded optimizers must match them bit for bit.
#[test]
fn without_clipping_the_trajectory_is_bit_for_bit_the_plain_update() {
    type Net = (Dense<2, 3, Tanh, f64>, Dense<3, 1, Identity, f64>);
    let mut net = Net::ZERO;
    net.init(Init::GlorotUniform, &mut SplitMix64::new(3));
    let x = [[0.5, -1.0], [1.5, 0.25]];
    let t = [[1.0], [-0.5]];
    let flat = |net: &mut Net| -> Vec<f64> { net.trainable_mut().flatten().map(|p| *p).collect() };

    let (lr, mu, wd) = (0.1, 0.9, 0.01);
    let sgd =
        Sgd::<Net, WithMomentum>::new(SgdConfig::new(lr).with_momentum(mu).with_weight_decay(wd));
    let mut trainer = Trainer::<_, _, _, 2>::new(net, sgd.expect("valid"), Mse);
    let mut p = flat(&mut trainer.net.clone());
    let mut v = vec![0.0; p.len()];
    for step in 0..5 {
        trainer.gradients(&x, &t, None).expect("finite");
        let g: Vec<f64> = trainer.grads.slices().flatten().copied().collect();
        trainer.step(&x, &t).expect("finite");
        for ((p, v), &g) in p.iter_mut().zip(&mut v).zip(&g) {
            let g = g + wd * *p;
            *v = if step == 0 { g } else { mu * *v + g };
            *p -= lr * *v;
        }
        assert_eq!(flat(&mut trainer.net), p, "sgd step {step}");
    }

    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    let adam = Adam::<Net>::new(AdamConfig::new(lr).with_weight_decay(wd));
    let mut trainer = Trainer::<_, _, _, 2>::new(net, adam.expect("valid"), Mse);
    let mut p = flat(&mut trainer.net.clone());
    let (mut m, mut v) = (vec![0.0; p.len()], vec![0.0; p.len()]);
    let (mut b1_pow, mut b2_pow) = (1.0, 1.0);
    for step in 0..5 {
        trainer.gradients(&x, &t, None).expect("finite");
        let g: Vec<f64> = trainer.grads.slices().flatten().copied().collect();
        trainer.step(&x, &t).expect("finite");
        b1_pow *= b1;
        b2_pow *= b2;
        // PyTorch's order: the bias corrections as two per-step scalars.
        let step_size = lr / (1.0 - b1_pow);
        let inv_root2 = 1.0 / (1.0 - b2_pow).sqrt();
        for (((p, m), v), &g) in p.iter_mut().zip(&mut m).zip(&mut v).zip(&g) {
            let g = g + wd * *p;
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= step_size * *m / (v.sqrt() * inv_root2 + eps);
        }
        assert_eq!(flat(&mut trainer.net), p, "adam step {step}");
    }
}
