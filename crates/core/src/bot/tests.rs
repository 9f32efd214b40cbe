use super::*;

fn team_id(n: u8) -> TeamId {
    format!("0190a000-0000-7000-8000-0000000000{n:02}").parse().unwrap()
}

fn teams(name: &str) -> Option<TeamId> {
    match name {
        "Billing" => Some(team_id(1)),
        "Support" => Some(team_id(2)),
        _ => None,
    }
}

const SHOP: &str = r#"
greeting: Hi! I am the Acme bot.
fallback_team: Support
max_failures: 2
steps:
  menu:
    say: What can I do for you?
    options:
      - label: Billing
        keywords: [invoice, refund]
        next: ask_email
      - label: Questions
        next: questions
      - label: Talk to sales
        handoff: true
  ask_email:
    say: What is your e-mail address?
    collect: email
    invalid: That does not look like an e-mail address.
    next: to_billing
  to_billing:
    say: Thanks, passing you to billing.
    handoff: Billing
  questions:
    say: Ask away.
    faq: true
    next: menu
faq:
  - question: When are you open?
    keywords: [hours, open]
    answer: Mon-Fri 9-17.
  - keywords: [shipping, delivery]
    answer: Shipping takes 2 days.
"#;

fn shop() -> Flow {
    compile(SHOP, &teams).unwrap_or_else(|e| panic!("{e:?}"))
}

fn said(turn: &Turn) -> Vec<String> {
    turn.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Say(r) => Some(r.text.clone()),
            _ => None,
        })
        .collect()
}

fn handed_to(turn: &Turn) -> Option<Option<TeamId>> {
    turn.effects.iter().find_map(|e| match e {
        Effect::HandOff { team } => Some(*team),
        _ => None,
    })
}

#[test]
fn greets_and_shows_the_menu_as_buttons_or_numbers() {
    let flow = shop();
    let turn = flow.begin("hello", true);
    assert_eq!(said(&turn)[0], "Hi! I am the Acme bot.");
    let Effect::Say(menu) = &turn.effects[1] else { panic!() };
    assert_eq!(menu.text, "What can I do for you?");
    assert_eq!(menu.buttons, ["Billing", "Questions", "Talk to sales"]);
    assert_eq!(turn.session.as_ref().unwrap().step, "menu");

    let turn = flow.begin("hello", false);
    let Effect::Say(menu) = &turn.effects[1] else { panic!() };
    assert_eq!(
        menu.text,
        "What can I do for you?\n1. Billing\n2. Questions\n3. Talk to sales"
    );
    assert!(menu.buttons.is_empty());
}

#[test]
fn collects_an_email_and_hands_off_to_the_right_team() {
    let flow = shop();
    let s = flow.begin("hi", false).session.unwrap();
    // A keyword picks the option.
    let turn = flow.respond(&s, "I need a refund please", false);
    assert_eq!(said(&turn), ["What is your e-mail address?"]);
    let s = turn.session.unwrap();
    let turn = flow.respond(&s, "not an address", false);
    assert_eq!(said(&turn), ["That does not look like an e-mail address."]);
    let s = turn.session.unwrap();
    assert_eq!(s.failures, 1);
    let turn = flow.respond(&s, "  Ann@Example.COM ", false);
    assert_eq!(
        turn.effects[0],
        Effect::Collect {
            field: Field::Email,
            value: "ann@example.com".into()
        }
    );
    assert_eq!(said(&turn), ["Thanks, passing you to billing."]);
    assert_eq!(handed_to(&turn), Some(Some(team_id(1))));
    assert!(turn.session.is_none());
}

#[test]
fn numbers_labels_and_buttons_pick_options() {
    let flow = shop();
    let s = flow.begin("hi", true).session.unwrap();
    for input in ["2", "2.", "questions", "Questions"] {
        assert_eq!(
            flow.respond(&s, input, true).session.unwrap().step,
            "questions",
            "{input}"
        );
    }
    let turn = flow.respond(&s, "3", true);
    assert_eq!(handed_to(&turn), Some(None));
    // Out of range is not understood.
    assert_eq!(flow.respond(&s, "7", true).session.unwrap().failures, 1);
}

#[test]
fn answers_from_the_faq_then_goes_on() {
    let flow = shop();
    let s = Session {
        step: "questions".into(),
        failures: 0,
    };
    let turn = flow.respond(&s, "when are you open?", false);
    assert_eq!(said(&turn)[0], "Mon-Fri 9-17.");
    assert_eq!(turn.session.unwrap().step, "menu");
    let turn = flow.respond(&s, "what about delivery times", false);
    assert_eq!(said(&turn)[0], "Shipping takes 2 days.");
}

#[test]
fn asking_for_a_person_or_failing_too_often_hands_off() {
    let flow = shop();
    let turn = flow.begin("I want a human", false);
    assert_eq!(handed_to(&turn), Some(Some(team_id(2))));
    let s = flow.begin("hi", false).session.unwrap();
    let turn = flow.respond(&s, "let me talk to an AGENT!", false);
    assert_eq!(handed_to(&turn), Some(Some(team_id(2))));
    assert_eq!(said(&turn), [DEFAULT_HANDOFF_REPLY_FOR_TESTS]);

    let first = flow.respond(&s, "blah", false);
    assert!(said(&first)[0].starts_with("Sorry, I did not understand that.\nWhat can I do for you?"));
    assert!(handed_to(&first).is_none());
    let second = flow.respond(first.session.as_ref().unwrap(), "blah", false);
    assert_eq!(handed_to(&second), Some(Some(team_id(2))));
}

const DEFAULT_HANDOFF_REPLY_FOR_TESTS: &str = "One moment, I am passing you to a person.";

#[test]
fn collects_custom_attributes_and_phone_numbers() {
    let flow = compile(
        "steps:\n  order:\n    say: Order number?\n    collect: attributes.order_number\n    next: phone\n  phone:\n    collect: phone\n    next: done\n  done:\n    handoff: Support\n",
        &teams,
    )
    .unwrap();
    let s = flow.begin("hi", false).session.unwrap();
    let turn = flow.respond(&s, "A-1234", false);
    assert_eq!(
        turn.effects[0],
        Effect::Collect {
            field: Field::Attribute("order_number".into()),
            value: "A-1234".into()
        }
    );
    let s = turn.session.unwrap();
    let turn = flow.respond(&s, "+49 151 234-5678", false);
    assert_eq!(
        turn.effects[0],
        Effect::Collect {
            field: Field::Phone,
            value: "+491512345678".into()
        }
    );
}

#[test]
fn json_flows_work_too() {
    let json = r#"{
  "start": "menu",
  "steps": {
    "menu": {"say": "Pick", "options": [{"label": "Person", "handoff": "Billing"}]}
  }
}"#;
    let flow = compile(json, &teams).unwrap();
    let s = flow.begin("hi", false).session.unwrap();
    assert_eq!(handed_to(&flow.respond(&s, "1", false)), Some(Some(team_id(1))));
}

fn errors(text: &str) -> Vec<FlowError> {
    compile(text, &teams).expect_err("the flow should be refused")
}

#[test]
fn a_missing_step_target_names_its_line() {
    let e = errors("steps:\n  a:\n    say: hi\n    next: b\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].line, 4);
    assert!(
        e[0].message.contains("missing target: there is no step `b`"),
        "{}",
        e[0]
    );
    assert_eq!(e[0].path, "steps.a");
}

#[test]
fn a_missing_team_names_its_line() {
    let e = errors("steps:\n  a:\n    options:\n      - label: x\n        handoff: Nowhere\n");
    assert_eq!(e[0].line, 5);
    assert!(e[0].message.contains("no team `Nowhere`"), "{}", e[0]);
}

#[test]
fn loops_without_exit_are_refused() {
    // Never waits: would spin.
    let e = errors("steps:\n  a:\n    say: one\n    next: b\n  b:\n    say: two\n    next: a\n");
    assert!(
        e.iter().any(|e| e.message.contains("loop without exit: a → b → a")),
        "{e:?}"
    );
    assert_eq!(e[0].line, 2);
    // Waits, but no path ever hands off.
    let e = errors(
        "steps:\n  a:\n    options:\n      - label: x\n        next: b\n  b:\n    options:\n      - label: y\n        next: a\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("loop without exit"), "{}", e[0]);
    assert!(e[0].message.contains("`a`, `b`"), "{}", e[0]);
    assert_eq!(e[0].line, 2);
}

#[test]
fn unknown_fields_are_refused_where_they_are() {
    let e = errors("steps:\n  a:\n    say: hi\n    colect: email\n    handoff: true\n");
    assert_eq!(e[0].line, 4);
    assert!(e[0].message.contains("unknown field `colect`"), "{}", e[0]);
    let e = errors("steps:\n  a:\n    collect: shoe_size\n    next: b\n  b:\n    handoff: true\n");
    assert_eq!(e[0].line, 3);
    assert!(e[0].message.contains("unknown field `shoe_size`"), "{}", e[0]);
    let e = errors("grreting: hi\nsteps:\n  a:\n    handoff: true\n");
    assert_eq!((e[0].line, e[0].column), (1, 1));
}

#[test]
fn other_mistakes_are_pointed_out() {
    let cases: &[(&str, usize, &str)] = &[
        ("steps: {}\n", 1, "at least one step"),
        ("greeting: hi\n", 1, "missing `steps`"),
        ("steps:\n  a:\n    say: hi\n", 2, "must do something"),
        (
            "steps:\n  a:\n    handoff: true\n    next: a\n",
            4,
            "does not go with `handoff`",
        ),
        ("steps:\n  a:\n    options: []\n", 3, "1 to 10 options"),
        (
            "steps:\n  a:\n    faq: true\n    next: b\n  b:\n    handoff: true\n",
            3,
            "no `faq` entries",
        ),
        ("max_failures: 0\nsteps:\n  a:\n    handoff: true\n", 1, "1 to 20"),
        (
            "steps:\n  a:\n    handoff: true\n  b:\n    handoff: true\n",
            4,
            "never reached",
        ),
        (
            "steps:\n  a:\n    handoff: true\n  a:\n    handoff: true\n",
            4,
            "defined twice",
        ),
        ("[1, 2]\n", 1, "must be a mapping"),
        (
            "steps:\n  a:\n    options:\n      - label: '1'\n        handoff: true\n",
            4,
            "cannot be a number",
        ),
        ("steps:\n  a: [\n", 3, "not valid YAML or JSON"),
    ];
    for (text, line, needle) in cases {
        let e = errors(text);
        assert!(
            e.iter().any(|e| e.line == *line && e.message.contains(needle)),
            "{text:?}: expected line {line} with {needle:?}, got {e:?}"
        );
    }
}

#[test]
fn errors_render_with_line_and_path() {
    let e = errors("steps:\n  a:\n    say: hi\n    next: b\n");
    assert_eq!(
        e[0].to_string(),
        "line 4, column 11 (steps.a): missing target: there is no step `b` (steps: a)"
    );
}

#[test]
fn compiled_flows_round_trip_through_json() {
    let flow = shop();
    let stored = serde_json::to_string(&flow).unwrap();
    assert_eq!(serde_json::from_str::<Flow>(&stored).unwrap(), flow);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the customer writes, a turn either waits on a step that
        /// exists or hands off, and never panics.
        #[test]
        fn any_input_leaves_the_bot_somewhere_valid(inputs in proptest::collection::vec(".{0,40}", 1..12), buttons: bool) {
            let flow = shop();
            let mut turn = flow.begin(&inputs[0], buttons);
            for input in &inputs[1..] {
                let Some(session) = turn.session.clone() else { break };
                prop_assert!(flow.steps.contains_key(&session.step));
                prop_assert!(session.failures < flow.max_failures);
                turn = flow.respond(&session, input, buttons);
            }
            prop_assert!(turn.session.is_some() || handed_to(&turn).is_some());
        }

        /// Arbitrary text never panics the compiler.
        #[test]
        fn any_source_is_accepted_or_refused_with_a_line(text in ".{0,200}") {
            if let Err(errors) = compile(&text, &teams) {
                prop_assert!(!errors.is_empty());
                prop_assert!(errors.iter().all(|e| e.line >= 1 && e.column >= 1));
            }
        }
    }
}

#[test]
fn menus_are_buttons_or_numbered_lines_by_channel() {
    // Which channels show buttons is their adapters' capability, tested in
    // `switchboard-channels`.
    let labels = vec!["Orders".to_string(), "Billing".to_string()];
    let numbered = menu("Pick one".into(), labels.clone(), false);
    assert_eq!(
        (numbered.text.as_str(), numbered.buttons.len()),
        ("Pick one\n1. Orders\n2. Billing", 0)
    );
    assert_eq!(menu(String::new(), labels.clone(), false).text, "1. Orders\n2. Billing");
    assert_eq!(menu("Pick one".into(), labels.clone(), true).buttons, labels);
}
