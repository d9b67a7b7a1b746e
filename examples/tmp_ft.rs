#[path = "shared/digits.rs"]
#[allow(dead_code)]
mod digits;
use digits::*;
use stackprop::*;
type Tuned = (Frozen<Dense<64, 32, Relu>>, Dense<32, 10, Identity>);
fn main() {
    let mut t = Box::new(DigitsTrainer::ZERO);
    digits::train(&mut t, |_| {}).unwrap();
    for (s, g, o) in [
        (1, 1.0, 0.0),
        (1, 0.6, 0.0),
        (0, 0.5, 0.3),
        (1, 0.7, 0.2),
        (2, 1.0, 0.0),
    ] {
        let d = Distortion {
            shift_right: s,
            gain: g,
            offset: o,
        };
        for ntrain in [200usize, 1438] {
            for (lr, ep) in [(0.01f32, 10usize), (0.003, 20)] {
                let mut ft = Box::new(Trainer::<Tuned, Adam<Tuned>, SoftmaxCrossEntropy, 16>::ZERO);
                ft.net = (Frozen(t.net.0), t.net.1);
                ft.optimizer.set_config(AdamConfig::new(lr)).unwrap();
                let tr = Sub(Digits::distorted(Split::Train, d), ntrain);
                let ho = Digits::distorted(Split::HeldOut, d);
                let before = ft.evaluate(&ho).unwrap().accuracy();
                let clean = ft
                    .evaluate(&Digits::new(Split::HeldOut))
                    .unwrap()
                    .accuracy();
                let mut rng = Rng::new(2);
                for _ in 0..ep {
                    ft.train_epoch(&tr, Some(&mut rng), Remainder::Wrap)
                        .unwrap();
                }
                let after = ft.evaluate(&ho).unwrap().accuracy();
                let clean_after = ft
                    .evaluate(&Digits::new(Split::HeldOut))
                    .unwrap()
                    .accuracy();
                println!(
                    "{s} {g} {o} n{ntrain} lr{lr} ep{ep}: before {before:.3} after {after:.3} clean {clean:.3}->{clean_after:.3}"
                );
            }
        }
    }
}
struct Sub(Digits, usize);
impl Dataset<Image, Class> for Sub {
    fn len(&self) -> usize {
        self.1
    }
    fn load(&self, i: usize, x: &mut Image, t: &mut Class) -> Result<(), Error> {
        self.0.load(i, x, t)
    }
}
