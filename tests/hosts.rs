//! Hosts: simulated machines. A task spawned on a host runs there and so do its
//! children; traces name tasks `host/name`; a crash drops every task of the host
//! inside the simulation, in id order, and a restart brings it back empty; a `Sim`
//! keeps its hosts across runs. Every case runs its seed twice and compares traces.

mod common;

use common::{panic_message, run_twice, secs};
use seedloop::net::Host;
use seedloop::time::{sleep, Instant};
use seedloop::{Policy, Sim};
use std::cell::RefCell;
use std::rc::Rc;

fn sims() -> Vec<Sim> {
    let mut sims = vec![Sim::new(0).policy(Policy::Fifo)];
    sims.extend((0..6).map(Sim::new));
    sims.push(Sim::new(1).policy(Policy::Pct { depth: 2 }));
    sims
}

fn passes_everywhere<Fut: std::future::Future<Output = ()>>(program: impl Fn() -> Fut) {
    for index in 0..sims().len() {
        let (_, result) = run_twice(|| sims().swap_remove(index), &program);
        if let Err(failure) = result {
            panic!("{failure}");
        }
    }
}

#[test]
fn a_task_spawned_on_a_host_runs_there_and_so_do_its_children() {
    passes_everywhere(|| async {
        let db = Host::new("db");
        let parent = db.spawn(async {
            let child = seedloop::spawn(async { Host::current().name().to_string() });
            (Host::current().name().to_string(), child.await.unwrap())
        });
        assert_eq!(parent.await.unwrap(), ("db".to_string(), "db".to_string()));
        assert_eq!(Host::current().name(), "main");
    });
}

#[test]
fn traces_name_tasks_with_their_host() {
    let (sim, result) = run_twice(
        || Sim::new(0).policy(Policy::Fifo),
        || async {
            let db = Host::new("db");
            db.spawn_named("worker", async {}).await.unwrap();
            db.spawn(async {}).await.unwrap();
        },
    );
    result.unwrap();
    let trace = sim.trace().to_string();
    assert!(trace.contains("task 1 (db/worker)"), "{trace}");
    assert!(trace.contains("task 2 (db)"), "{trace}");
}

/// Records, when dropped, its name and the virtual time.
struct Witness(&'static str, Rc<RefCell<Vec<(&'static str, Instant)>>>);

impl Drop for Witness {
    fn drop(&mut self) {
        self.1.borrow_mut().push((self.0, Instant::now()));
    }
}

#[test]
fn a_crash_drops_every_task_of_the_host_in_id_order_inside_the_simulation() {
    passes_everywhere(|| async {
        let dropped = Rc::new(RefCell::new(Vec::new()));
        let db = Host::new("db");
        let web = Host::new("web");
        let spawn_on = |host: &Host, name: &'static str| {
            let witness = Witness(name, dropped.clone());
            host.spawn(async move {
                let _witness = witness;
                sleep(secs(3600)).await;
            })
        };
        let (first, second, elsewhere) = (
            spawn_on(&db, "first"),
            spawn_on(&db, "second"),
            spawn_on(&web, "web"),
        );
        sleep(secs(2)).await;
        db.crash();
        // Dropped at once, in id order, with the clock readable.
        let at = Instant::EPOCH + secs(2);
        assert_eq!(*dropped.borrow(), [("first", at), ("second", at)]);
        assert!(first.await.unwrap_err().is_cancelled());
        assert!(second.await.unwrap_err().is_cancelled());
        assert!(!db.is_up());
        assert!(web.is_up() && !elsewhere.is_finished());
        elsewhere.cancel();
    });
}

#[test]
fn a_task_crashing_its_own_host_stops_at_its_next_await() {
    passes_everywhere(|| async {
        let reached = Rc::new(RefCell::new(Vec::new()));
        let db = Host::new("db");
        let suicidal = db.spawn({
            let reached = reached.clone();
            async move {
                Host::current().crash();
                reached
                    .borrow_mut()
                    .push("after the crash, before the await");
                seedloop::yield_now().await;
                reached.borrow_mut().push("after the await");
            }
        });
        assert!(suicidal.await.unwrap_err().is_cancelled());
        assert_eq!(*reached.borrow(), ["after the crash, before the await"]);
    });
}

#[test]
fn a_restarted_host_runs_tasks_again_and_a_crashed_one_refuses_them() {
    passes_everywhere(|| async {
        let db = Host::new("db");
        db.crash();
        let message = panic_message(|| drop(db.spawn(async {})));
        assert!(
            message.contains("host `db`") && message.contains("restart"),
            "{message}"
        );
        db.restart();
        assert_eq!(db.spawn(async { 7 }).await.unwrap(), 7);
    });
}

#[test]
fn crashes_and_restarts_are_trace_events() {
    let (sim, result) = run_twice(
        || Sim::new(3),
        || async {
            let db = Host::new("db");
            db.crash();
            db.restart();
        },
    );
    result.unwrap();
    let trace = sim.trace().to_string();
    assert!(trace.contains("host db crashed"), "{trace}");
    assert!(trace.contains("host db restarted"), "{trace}");
}

#[test]
fn a_sim_keeps_its_hosts_across_runs() {
    let mut sim = Sim::new(0);
    sim.run(async {
        let db = Host::new("db");
        db.crash();
    })
    .unwrap();
    sim.run(async {
        let db = Host::lookup("db").expect("the host made by the first run");
        assert!(!db.is_up(), "still crashed");
        let message = panic_message(|| Host::new("db"));
        assert!(message.contains("Host::lookup"), "{message}");
        assert!(Host::lookup("cache").is_none());
    })
    .unwrap();
}

#[test]
fn hosts_refuse_misuse_with_a_message_that_names_the_fix() {
    let outside = panic_message(|| Host::new("db"));
    assert!(outside.contains("outside a Sim"), "{outside}");
    Sim::new(0)
        .run(async {
            let main = panic_message(|| Host::current().crash());
            assert!(main.contains("`main` cannot crash"), "{main}");
            let bad = panic_message(|| Host::new("db:80"));
            assert!(bad.contains("not a valid host name"), "{bad}");
        })
        .unwrap();
}

#[test]
fn a_host_of_another_sim_is_refused_with_a_message() {
    let mut first = Sim::new(0);
    let db = first.run(async { Host::new("db") }).unwrap();
    let result = Sim::new(0).run(async move {
        let message = panic_message(|| db.crash());
        assert!(
            message.contains("belongs to the Sim that created it"),
            "{message}"
        );
    });
    result.unwrap();
}
