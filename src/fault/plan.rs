//! Carrying out a [`FaultPlan`]: a task named `faults` that sleeps a drawn gap, then
//! draws whether to crash a host or partition two, and schedules the restart or the
//! heal; once the plan's active span is over it heals and restarts what it broke and
//! ends.

use super::FaultPlan;
use crate::choices::Stream;
use crate::net::{heal, partition, Host};
use crate::runtime::context;
use crate::runtime::executor::Shared;
use crate::runtime::world::MAIN_HOST;
use crate::task::Builder;
use crate::time::{sleep, Instant};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Whether this run's plan has started.
#[derive(Debug, Default)]
struct Started {
    run_id: u64,
}

/// Starts the run's fault plan, once per run, if it has one.
pub(crate) fn start_if_planned(shared: &Shared) {
    let Some(plan) = shared.fault_plan().cloned() else {
        return;
    };
    let run_id = shared.run_id();
    let first = shared.with_extension::<Started, _>(|started| {
        std::mem::replace(&mut started.run_id, run_id) != run_id
    });
    if first {
        let driver = Builder::new()
            .name("faults")
            .on_host(MAIN_HOST)
            .spawn(carry_out(plan));
        drop(driver);
    }
}

/// A duration drawn uniformly between `min` and `max` from the fault stream.
fn draw_between(min: Duration, max: Duration) -> Duration {
    let spread = max.saturating_sub(min).as_millis().min(u64::MAX as u128) as u64;
    let extra = context::with_current("seedloop::fault", |shared| {
        shared.choose(Stream::Faults, spread + 1)
    });
    min + Duration::from_millis(extra)
}

fn draw(bound: u64) -> u64 {
    context::with_current("seedloop::fault", |shared| {
        shared.choose(Stream::Faults, bound)
    })
}

/// The hosts of the world, by name, and whether each may crash.
fn hosts(plan: &FaultPlan) -> Vec<(String, bool)> {
    context::with_current("seedloop::fault", |shared| {
        (0..shared.host_count() as u32)
            .map(|host| {
                let name = shared.host_name(host);
                let may_crash = host != MAIN_HOST && !plan.spare.contains(&name);
                (name, may_crash && shared.host_is_up(host))
            })
            .collect()
    })
}

/// What the plan broke and has not repaired yet.
#[derive(Default)]
struct Broken {
    crashed: Vec<String>,
    partitioned: Vec<(String, String)>,
}

async fn carry_out(plan: FaultPlan) {
    let end = Instant::now() + plan.active;
    let broken = Rc::new(RefCell::new(Broken::default()));
    loop {
        let gap = draw_between(plan.mean_gap / 2, plan.mean_gap + plan.mean_gap / 2);
        sleep(gap).await;
        if Instant::now() >= end {
            break;
        }
        // 0: no fault this time; 1: a crash; 2: a partition.
        match draw(3) {
            1 if plan.crashes => crash_one(&plan, &broken),
            2 if plan.partitions => partition_two(&plan, &broken),
            _ => {}
        }
    }
    let broken = std::mem::take(&mut *broken.borrow_mut());
    for (a, b) in broken.partitioned {
        heal(&a, &b);
    }
    for name in broken.crashed {
        if let Some(host) = Host::lookup(&name) {
            host.restart();
        }
    }
}

fn crash_one(plan: &FaultPlan, broken: &Rc<RefCell<Broken>>) {
    let candidates: Vec<String> = hosts(plan)
        .into_iter()
        .filter_map(|(name, may_crash)| may_crash.then_some(name))
        .collect();
    if candidates.is_empty() {
        return;
    }
    let name = candidates[draw(candidates.len() as u64) as usize].clone();
    let Some(host) = Host::lookup(&name) else {
        return;
    };
    host.crash();
    broken.borrow_mut().crashed.push(name.clone());
    let downtime = draw_between(plan.downtime.0, plan.downtime.1);
    let broken = broken.clone();
    drop(
        Builder::new()
            .name("faults/restart")
            .on_host(MAIN_HOST)
            .spawn(async move {
                sleep(downtime).await;
                let mut broken = broken.borrow_mut();
                if let Some(index) = broken.crashed.iter().position(|crashed| *crashed == name) {
                    broken.crashed.remove(index);
                    drop(broken);
                    host.restart();
                }
            }),
    );
}

fn partition_two(plan: &FaultPlan, broken: &Rc<RefCell<Broken>>) {
    let names: Vec<String> = hosts(plan).into_iter().map(|(name, _)| name).collect();
    if names.len() < 2 {
        return;
    }
    let first = draw(names.len() as u64) as usize;
    let second = (first + 1 + draw(names.len() as u64 - 1) as usize) % names.len();
    let (a, b) = (names[first].clone(), names[second].clone());
    if broken
        .borrow()
        .partitioned
        .contains(&(a.clone(), b.clone()))
    {
        return;
    }
    partition(&a, &b);
    broken.borrow_mut().partitioned.push((a.clone(), b.clone()));
    let lasts = draw_between(plan.partition_time.0, plan.partition_time.1);
    let broken = broken.clone();
    drop(
        Builder::new()
            .name("faults/heal")
            .on_host(MAIN_HOST)
            .spawn(async move {
                sleep(lasts).await;
                let mut broken = broken.borrow_mut();
                let pair = (a.clone(), b.clone());
                if let Some(index) = broken.partitioned.iter().position(|made| *made == pair) {
                    broken.partitioned.remove(index);
                    drop(broken);
                    heal(&a, &b);
                }
            }),
    );
}
