//! Property tests of the lifecycle: no sequence of commands reaches a state
//! the design does not define, and every accepted command yields an activity
//! that names the state it moved to.

use proptest::prelude::*;
use switchboard_core::lifecycle::{self, Command, LifecycleError, LifecycleState, Routed, activity_target};
use switchboard_core::{ConversationStatus as S, Millis, Priority, TeamId, UserId};
use uuid::Uuid;

fn user(n: u8) -> UserId {
    UserId(Uuid::from_u128(u128::from(n) + 1))
}
fn team(n: u8) -> TeamId {
    TeamId(Uuid::from_u128(u128::from(n) + 100))
}

fn routed() -> impl Strategy<Value = Routed> {
    prop_oneof![
        (0u8..3, proptest::option::of(0u8..2)).prop_map(|(a, t)| Routed::Assigned {
            agent: user(a),
            team: t.map(team)
        }),
        (proptest::option::of(0u8..2), any::<bool>()).prop_map(|(t, ticket)| Routed::Queued {
            team: t.map(team),
            ticket
        }),
    ]
}

fn by() -> impl Strategy<Value = Option<UserId>> {
    proptest::option::of((0u8..3).prop_map(user))
}

fn comment() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[a-z ]{0,8}")
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        routed().prop_map(|route| Command::HandOff { route }),
        (0u8..3).prop_map(|a| Command::EnterChat { admin: user(a) }),
        (by(), 0u8..3, proptest::option::of(0u8..2)).prop_map(|(by, to, t)| Command::Assign {
            by,
            to: user(to),
            team: t.map(team)
        }),
        (by(), routed(), comment()).prop_map(|(by, to, comment)| Command::Transfer { by, to, comment }),
        by().prop_map(|by| Command::Unassign { by }),
        (by(), comment()).prop_map(|(by, comment)| Command::Resolve {
            by,
            comment,
            reason: None
        }),
        (by(), comment()).prop_map(|(by, comment)| Command::Abandon {
            by,
            comment,
            reason: None
        }),
        Just(Command::Expire),
        (0u8..3, any::<bool>()).prop_map(|(a, window_open)| Command::Reopen {
            by: user(a),
            window_open
        }),
        routed().prop_map(|route| Command::CustomerReturned { route }),
        (by(), prop_oneof![Just(Priority::Normal), Just(Priority::Critical)])
            .prop_map(|(by, priority)| Command::SetPriority { by, priority }),
        (by(), 0i64..60).prop_map(|(by, t)| Command::Snooze { by, until: Millis(t) }),
        (by(), any::<bool>()).prop_map(|(by, customer_wrote)| Command::Wake { by, customer_wrote }),
    ]
}

fn start() -> impl Strategy<Value = LifecycleState> {
    prop_oneof![
        Just(lifecycle::open(None, Millis(1)).0),
        routed().prop_map(|r| lifecycle::open(Some(r), Millis(1)).0),
        (0u8..3).prop_map(|a| lifecycle::open_pending(user(a), None, Millis(1)).0),
    ]
}

/// The invariants every reachable state keeps.
fn assert_defined(s: &LifecycleState) -> Result<(), TestCaseError> {
    if matches!(s.status, S::Assigned | S::Pending) {
        prop_assert!(s.assignee.is_some(), "an owned status has an assignee: {:?}", s);
    }
    if s.status == S::Assigned {
        prop_assert!(s.times.assigned_at.is_some() && s.times.first_assigned_at.is_some());
        prop_assert!(s.times.first_assigned_at <= s.times.assigned_at);
    }
    if matches!(s.status, S::Queued | S::Bot) {
        prop_assert!(s.assignee.is_none(), "an unowned status has no assignee: {:?}", s);
    }
    prop_assert_eq!(
        s.status.is_closed(),
        s.times.closed_at.is_some(),
        "closed_at iff closed: {:?}",
        s
    );
    if s.snoozed_until.is_some() {
        prop_assert!(
            matches!(s.status, S::Queued | S::Assigned),
            "only open chats snooze: {:?}",
            s
        );
    }
    if s.status == S::Queued {
        prop_assert!(s.times.queued_at.is_some(), "a queued chat knows since when: {:?}", s);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_sequence_reaches_an_undefined_state(initial in start(), commands in proptest::collection::vec(command(), 0..40)) {
        let mut state = initial;
        assert_defined(&state)?;
        for (i, command) in commands.into_iter().enumerate() {
            let now = Millis(10 + i as i64);
            match lifecycle::apply(&state, command.clone(), now) {
                Ok((next, activity)) => {
                    assert_defined(&next)?;
                    // Every accepted move leaves an activity naming where it went.
                    match activity_target(&activity) {
                        Some(target) => prop_assert_eq!(target, next.status, "activity {:?} for {:?}", activity, command),
                        None => prop_assert_eq!(next.status, state.status),
                    }
                    prop_assert!(next != state, "an accepted command changes something: {:?}", command);
                    state = next;
                }
                Err(LifecycleError::IllegalMove { status, command: name }) => {
                    prop_assert_eq!(status, state.status);
                    prop_assert_eq!(name, command.name());
                }
                Err(_) => {}
            }
        }
    }
}

#[test]
fn illegal_moves_are_refused() {
    let (bot, _) = lifecycle::open(None, Millis(1));
    let (queued, _) = lifecycle::open(
        Some(Routed::Queued {
            team: None,
            ticket: false,
        }),
        Millis(1),
    );
    let (resolved, _) = lifecycle::apply(
        &queued,
        Command::Resolve {
            by: None,
            comment: None,
            reason: None,
        },
        Millis(2),
    )
    .unwrap();

    let illegal = |s: &LifecycleState, c: Command| {
        matches!(
            lifecycle::apply(s, c, Millis(3)),
            Err(LifecycleError::IllegalMove { .. })
        )
    };
    assert!(illegal(
        &resolved,
        Command::Resolve {
            by: None,
            comment: None,
            reason: None,
        }
    ));
    assert!(illegal(
        &resolved,
        Command::Assign {
            by: None,
            to: user(0),
            team: None
        }
    ));
    assert!(illegal(
        &queued,
        Command::Reopen {
            by: user(0),
            window_open: true
        }
    ));
    assert!(illegal(&queued, Command::EnterChat { admin: user(0) }));
    assert!(illegal(&queued, Command::Unassign { by: None }));
    assert!(illegal(
        &bot,
        Command::CustomerReturned {
            route: Routed::Queued {
                team: None,
                ticket: false
            }
        }
    ));
    assert_eq!(
        lifecycle::apply(
            &resolved,
            Command::Reopen {
                by: user(0),
                window_open: false
            },
            Millis(3)
        )
        .unwrap_err(),
        LifecycleError::WindowClosed
    );
}

#[test]
fn timestamps_follow_the_design() {
    let (queued, _) = lifecycle::open(
        Some(Routed::Queued {
            team: Some(team(0)),
            ticket: true,
        }),
        Millis(100),
    );
    assert!(queued.ticket);
    let (assigned, activity) = lifecycle::apply(
        &queued,
        Command::Assign {
            by: None,
            to: user(1),
            team: None,
        },
        Millis(200),
    )
    .unwrap();
    assert_eq!(assigned.team, Some(team(0)));
    assert_eq!(assigned.times.first_assigned_at, Some(Millis(200)));
    assert!(matches!(activity, switchboard_core::Activity::Assigned { .. }));
    let (moved, activity) = lifecycle::apply(
        &assigned,
        Command::Transfer {
            by: Some(user(1)),
            to: Routed::Assigned {
                agent: user(2),
                team: Some(team(1)),
            },
            comment: Some("billing".into()),
        },
        Millis(300),
    )
    .unwrap();
    assert_eq!(moved.times.first_assigned_at, Some(Millis(200)));
    assert_eq!(moved.times.assigned_at, Some(Millis(300)));
    match activity {
        switchboard_core::Activity::Transferred {
            from_user,
            to_user,
            from_team,
            to_team,
            comment,
            ..
        } => {
            assert_eq!((from_user, to_user), (Some(user(1)), Some(user(2))));
            assert_eq!((from_team, to_team), (Some(team(0)), Some(team(1))));
            assert_eq!(comment.as_deref(), Some("billing"));
        }
        other => panic!("expected a transfer, got {other:?}"),
    }
    let (closed, _) = lifecycle::apply(
        &moved,
        Command::Resolve {
            by: Some(user(2)),
            comment: Some("done".into()),
            reason: Some("problem solved".into()),
        },
        Millis(400),
    )
    .unwrap();
    assert_eq!(closed.times.closed_at, Some(Millis(400)));
    assert_eq!(closed.close_comment.as_deref(), Some("done"));
    assert_eq!(closed.close_reason.as_deref(), Some("problem solved"));
}
