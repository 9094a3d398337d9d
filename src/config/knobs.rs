//! The one list of knobs: `config_knobs!` gives `Sim`, `Check` and `CancelExplorer`
//! a builder method per knob of [`Config`](super::Config), each forwarding to the
//! `Config` method of the same name.

/// Gives `$type` one builder method per knob of [`Config`], each forwarding to the
/// `Config` method of the same name on the `Config` that `|this| place` names
/// (`this` is `&mut $type`). This is the one
/// list of knobs: a knob added to `Config` is added here, and `Sim`, `Check` and
/// `CancelExplorer` all get it.
macro_rules! config_knobs {
    ($type:ty => |$this:ident| $place:expr) => {
        $crate::config::forward_knobs! {
            $type => |$this| $place;
            policy(policy: $crate::Policy);
            max_steps(max_steps: u64);
            max_time(max_time: ::std::time::Duration);
            max_tasks(max_tasks: usize);
            pct_horizon(steps: u64);
            record_trace(record: bool);
            trace_limit(events: usize);
            continue_on_panic(continue_on_panic: bool);
            name(name: impl Into<String>);
            test_path(path: impl Into<String>);
            replay_command(command: impl Into<String>);
            tape(bytes: impl Into<Vec<u8>>);
            deviations(deviations: Vec<(u64, u64)>);
            cancel_at(task: impl Into<String>, await_point: u64);
            max_wait(limit: ::std::time::Duration);
            max_wait_steps(limit: u64);
            detect_wait_cycles(detect: bool);
            debug(debug: bool);
            slow_poll(limit: ::std::time::Duration);
            net(net: $crate::config::NetConfig);
            faults(plan: $crate::config::FaultPlan);
            disk(disk: $crate::config::DiskConfig);
        }
    };
}

/// The method `config_knobs!` generates for each knob.
macro_rules! forward_knobs {
    ($type:ty => |$this:ident| $place:expr; $($knob:ident($($arg:ident: $arg_type:ty),*);)*) => {
        impl $type {
            $(
                #[doc = concat!(
                    "Sets [`Config::", stringify!($knob), "`](crate::Config::",
                    stringify!($knob), ") (see there)."
                )]
                #[track_caller]
                pub fn $knob(mut self, $($arg: $arg_type),*) -> $type {
                    let $this = &mut self;
                    let config = ::std::mem::take(&mut $place);
                    $place = config.$knob($($arg),*);
                    self
                }
            )*
        }
    };
}

pub(crate) use {config_knobs, forward_knobs};
