use std::time::Duration;
fn main() {
    let mut sim = seedloop::Sim::new(1);
    let out = sim.run(async {
        let a = seedloop::task::Builder::new().name("a").spawn(async {
            seedloop::yield_now().await;
            seedloop::time::sleep(Duration::from_secs(1)).await;
            1
        });
        let b = seedloop::spawn(async { 2 });
        a.await.unwrap() + b.await.unwrap()
    });
    println!("{out:?}\n{}", sim.trace());
    let f = seedloop::Sim::new(3)
        .run(async {
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            let (tx2, rx2) = futures::channel::oneshot::channel::<()>();
            let a = seedloop::spawn(async move {
                rx.await.ok();
                drop(tx2);
            });
            let b = seedloop::spawn(async move {
                rx2.await.ok();
                drop(tx);
            });
            a.await.unwrap();
            b.await.unwrap();
        })
        .unwrap_err();
    println!("{f}");
}
