//! Tests of the Socket.IO packet codec and the event data helpers.

use super::*;
use crate::socketio::event::{event_data, split_event};
use proptest::prelude::*;

fn decode(text: &[u8]) -> Result<Packet, DecodeError> {
    Packet::decode(&Bytes::copy_from_slice(text), &Limits::default())
}

fn packet(kind: PacketKind, nsp: &str, id: Option<u64>, data: Option<&str>) -> Packet {
    Packet {
        kind,
        nsp: nsp.to_owned(),
        id,
        data: data.map(|d| Bytes::copy_from_slice(d.as_bytes())),
        attachments: usize::from(kind.is_binary()),
    }
}

const PLACEHOLDER_EVENT: &str = r#"["ev",{"_placeholder":true,"num":0}]"#;

#[test]
fn event_encodes_namespace_comma_then_ack_id_then_data() {
    let data = Bytes::from_static(br#"["ev",1]"#);
    let p = Packet::event("/nsp", data, Some(1), 0);
    assert_eq!(p.encode(), &br#"2/nsp,1["ev",1]"#[..]);
    let p = Packet::event("/nsp", Bytes::from_static(br#"["ev"]"#), Some(1), 0);
    assert_eq!(p.encode(), &br#"2/nsp,1["ev"]"#[..]);
}

#[test]
fn binary_event_encodes_attachment_count_and_dash_first() {
    let p = Packet::event(
        "/",
        Bytes::from_static(PLACEHOLDER_EVENT.as_bytes()),
        None,
        1,
    );
    assert_eq!(p.kind, PacketKind::BinaryEvent);
    assert_eq!(
        p.encode(),
        &br#"51-["ev",{"_placeholder":true,"num":0}]"#[..]
    );
    assert_eq!(
        p.encode_message(),
        &br#"451-["ev",{"_placeholder":true,"num":0}]"#[..]
    );
}

#[test]
fn ack_on_main_namespace_encodes_id_then_data() {
    let p = Packet::ack("/", 456, Bytes::from_static(br#"["ok"]"#), 0);
    assert_eq!(p.kind, PacketKind::Ack);
    assert_eq!(p.encode(), &br#"3456["ok"]"#[..]);
    assert_eq!(p.encode_message(), &br#"43456["ok"]"#[..]);
}

#[test]
fn binary_ack_encodes_count_dash_then_id() {
    let data = Bytes::from_static(br#"[{"_placeholder":true,"num":1}]"#);
    let p = Packet::ack("/", 789, data, 2);
    assert_eq!(p.kind, PacketKind::BinaryAck);
    assert_eq!(
        p.encode_message(),
        &br#"462-789[{"_placeholder":true,"num":1}]"#[..]
    );
}

#[test]
fn connect_encodes_with_and_without_namespace_and_auth() {
    let auth = Some(r#"{"token":"x"}"#);
    let cases = [
        (packet(PacketKind::Connect, "/", None, None), "0"),
        (
            packet(PacketKind::Connect, "/admin", None, None),
            "0/admin,",
        ),
        (
            packet(PacketKind::Connect, "/", None, auth),
            r#"0{"token":"x"}"#,
        ),
        (
            packet(PacketKind::Connect, "/admin", None, auth),
            r#"0/admin,{"token":"x"}"#,
        ),
    ];
    for (p, text) in cases {
        assert_eq!(p.encode(), text.as_bytes());
    }
}

#[test]
fn disconnect_encodes_type_and_namespace_only() {
    assert_eq!(Packet::disconnect("/").encode(), &b"1"[..]);
    assert_eq!(Packet::disconnect("/admin").encode(), &b"1/admin,"[..]);
    assert_eq!(
        Packet::disconnect("/admin").encode_message(),
        &b"41/admin,"[..]
    );
}

#[test]
fn connect_ok_and_connect_error_build_escaped_json_objects() {
    let ok = Packet::connect_ok("/admin", "Ab-_9");
    assert_eq!(ok.encode(), &br#"0/admin,{"sid":"Ab-_9"}"#[..]);
    let err = Packet::connect_error("/", "Not authorized");
    assert_eq!(err.encode(), &br#"4{"message":"Not authorized"}"#[..]);
    let odd = Packet::connect_error("/", "a\"b\\c\nd\u{1}é");
    assert_eq!(
        odd.encode(),
        r#"4{"message":"a\"b\\c\nd\u0001é"}"#.as_bytes()
    );
}

#[test]
fn decode_reads_every_kind_with_and_without_namespace_id_and_data() {
    use PacketKind::*;
    let auth = Some(r#"{"token":"x"}"#);
    let cases = [
        ("0", packet(Connect, "/", None, None)),
        ("0/admin,", packet(Connect, "/admin", None, None)),
        ("0/admin", packet(Connect, "/admin", None, None)),
        (r#"0{"token":"x"}"#, packet(Connect, "/", None, auth)),
        (
            r#"0/admin,{"token":"x"}"#,
            packet(Connect, "/admin", None, auth),
        ),
        ("1", packet(Disconnect, "/", None, None)),
        ("1/admin,", packet(Disconnect, "/admin", None, None)),
        (r#"2["ev"]"#, packet(Event, "/", None, Some(r#"["ev"]"#))),
        (
            r#"2/nsp,1["ev",1]"#,
            packet(Event, "/nsp", Some(1), Some(r#"["ev",1]"#)),
        ),
        (
            r#"3456["ok"]"#,
            packet(Ack, "/", Some(456), Some(r#"["ok"]"#)),
        ),
        ("3/a,7[]", packet(Ack, "/a", Some(7), Some("[]"))),
        (
            r#"4{"message":"Not authorized"}"#,
            packet(
                ConnectError,
                "/",
                None,
                Some(r#"{"message":"Not authorized"}"#),
            ),
        ),
        (
            r#"4/a,"nope""#,
            packet(ConnectError, "/a", None, Some(r#""nope""#)),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(decode(text.as_bytes()), Ok(expected), "{text}");
    }
}

#[test]
fn decode_reads_binary_kinds_with_their_attachment_count() {
    let event = decode(br#"51-["ev",{"_placeholder":true,"num":0}]"#);
    let mut expected = packet(PacketKind::BinaryEvent, "/", None, Some(PLACEHOLDER_EVENT));
    assert_eq!(event, Ok(expected.clone()));
    expected.attachments = 2;
    expected.nsp = "/a".to_owned();
    expected.id = Some(5);
    assert_eq!(
        decode(br#"52-/a,5["ev",{"_placeholder":true,"num":0}]"#),
        Ok(expected)
    );
    let ack = decode(br#"62-789[{"_placeholder":true,"num":1}]"#);
    assert_eq!(
        ack.map(|p| (p.kind, p.id, p.attachments)),
        Ok((PacketKind::BinaryAck, Some(789), 2))
    );
}

#[test]
fn decode_slices_data_out_of_the_input_without_copying() {
    let text = Bytes::from_static(br#"2/nsp,1["ev",1]"#);
    let p = Packet::decode(&text, &Limits::default()).expect("valid");
    let data = p.data.expect("has data");
    assert_eq!(data.as_ptr(), text[7..].as_ptr());
    assert_eq!(data, &br#"["ev",1]"#[..]);
}

#[test]
fn decode_keeps_data_verbatim_including_surrounding_whitespace() {
    let p = decode(b"2 [\"a\" , 1] \n").expect("valid");
    assert_eq!(p.data.as_deref(), Some(&b" [\"a\" , 1] \n"[..]));
    assert_eq!(p.encode(), &b"2 [\"a\" , 1] \n"[..]);
}

#[test]
fn decode_accepts_the_largest_ack_id_and_rejects_one_more() {
    let max = decode(b"318446744073709551615[]").expect("u64::MAX fits");
    assert_eq!(max.id, Some(u64::MAX));
    assert_eq!(max.encode(), &b"318446744073709551615[]"[..]);
    assert_eq!(
        decode(b"318446744073709551616[]"),
        Err(DecodeError::AckIdTooLarge)
    );
    assert_eq!(
        decode(b"2123456789012345678901[\"a\"]"),
        Err(DecodeError::AckIdTooLarge)
    );
    assert_eq!(
        decode(b"2000000000000000000000001[\"a\"]"),
        Err(DecodeError::AckIdTooLarge)
    );
}

#[test]
fn decode_rejects_empty_text_and_unknown_types() {
    assert_eq!(decode(b""), Err(DecodeError::Empty));
    assert_eq!(decode(b"abc"), Err(DecodeError::UnknownType(b'a')));
    assert_eq!(decode(b"7[\"a\"]"), Err(DecodeError::UnknownType(b'7')));
}

#[test]
fn decode_expects_the_engineio_message_prefix_already_stripped() {
    let unstripped = decode(b"42[\"a\"]");
    assert_eq!(
        unstripped,
        Err(DecodeError::UnexpectedAckId(PacketKind::ConnectError))
    );
}

#[test]
fn decode_rejects_event_data_that_is_not_an_array_starting_with_a_name() {
    for text in [
        "2{}",
        "2[1]",
        "2[]",
        "2\"ev\"",
        "2[null,\"ev\"]",
        "2/nsp,[{}]",
    ] {
        assert_eq!(
            decode(text.as_bytes()),
            Err(DecodeError::InvalidData(EVENT_SHAPE)),
            "{text}"
        );
    }
}

#[test]
fn decode_rejects_data_that_is_not_exactly_one_json_value() {
    let texts = [
        "2abc[\"ev\"]",
        "2[\"a\"",
        "2[\"a\"]x",
        "2[\"a\"][\"b\"]",
        "2[\"a\",1,]",
        "2[\"a\",{\"b\":1]",
        "2[\"a\u{1}\"]",
        "21-[\"a\"]",
        "31{",
        "0{\"a\":}",
        "4\"unterminated",
    ];
    for text in texts {
        assert!(
            matches!(decode(text.as_bytes()), Err(DecodeError::InvalidJson(_))),
            "{text}"
        );
    }
}

#[test]
fn decode_rejects_bad_attachment_counts() {
    let bad = Err(DecodeError::InvalidAttachmentCount);
    for text in [
        "51[\"a\"]",
        "5x-[\"a\"]",
        "5-[\"a\"]",
        "50-[\"a\"]",
        "5",
        "61",
    ] {
        assert_eq!(decode(text.as_bytes()), bad, "{text}");
    }
    let too_many = Err(DecodeError::TooManyAttachments { max: 16 });
    assert_eq!(decode(b"517-[\"a\"]"), too_many);
    assert_eq!(decode(b"599999999999999999999999-[\"a\"]"), too_many);
}

#[test]
fn decode_honours_the_configured_attachment_limit() {
    let limits = Limits { max_attachments: 2 };
    let text = |s: &'static str| Bytes::from_static(s.as_bytes());
    assert!(Packet::decode(&text(r#"52-["a"]"#), &limits).is_ok());
    assert_eq!(
        Packet::decode(&text(r#"53-["a"]"#), &limits),
        Err(DecodeError::TooManyAttachments { max: 2 })
    );
}

#[test]
fn decode_reads_a_namespace_without_comma_to_the_end_of_the_text() {
    assert_eq!(
        decode(b"2/nsp[\"a\"]"),
        Err(DecodeError::MissingData(PacketKind::Event))
    );
    let p = decode(b"0/nsp{\"a\":1}").expect("odd but valid namespace");
    assert_eq!((p.nsp.as_str(), p.data), ("/nsp{\"a\":1}", None));
    let no_slash = decode(b"2nsp,[\"a\"]");
    assert!(
        matches!(no_slash, Err(DecodeError::InvalidJson(_))),
        "{no_slash:?}"
    );
}

#[test]
fn decode_requires_ack_ids_only_where_they_belong() {
    use DecodeError::*;
    assert_eq!(decode(b"3[\"a\"]"), Err(MissingAckId(PacketKind::Ack)));
    assert_eq!(
        decode(b"61-[\"a\"]"),
        Err(MissingAckId(PacketKind::BinaryAck))
    );
    assert_eq!(decode(b"01"), Err(UnexpectedAckId(PacketKind::Connect)));
    assert_eq!(
        decode(b"1/a,2"),
        Err(UnexpectedAckId(PacketKind::Disconnect))
    );
    assert_eq!(
        decode(b"43{}"),
        Err(UnexpectedAckId(PacketKind::ConnectError))
    );
}

#[test]
fn decode_checks_data_presence_and_shape_per_kind() {
    use DecodeError::*;
    use PacketKind::*;
    assert_eq!(decode(b"2"), Err(MissingData(Event)));
    assert_eq!(decode(b"2/a,4"), Err(MissingData(Event)));
    assert_eq!(decode(b"31"), Err(MissingData(Ack)));
    assert_eq!(decode(b"4"), Err(MissingData(ConnectError)));
    assert_eq!(decode(b"51-"), Err(MissingData(BinaryEvent)));
    assert_eq!(decode(b"1{}"), Err(UnexpectedData(Disconnect)));
    assert_eq!(decode(b"31{}"), Err(InvalidData(ACK_SHAPE)));
    assert_eq!(decode(b"0[]"), Err(InvalidData(CONNECT_SHAPE)));
    assert_eq!(decode(b"0\"x\""), Err(InvalidData(CONNECT_SHAPE)));
    assert_eq!(decode(b"4[1]"), Err(InvalidData(CONNECT_ERROR_SHAPE)));
    assert_eq!(decode(b"4 7"), Err(InvalidData(CONNECT_ERROR_SHAPE)));
}

#[test]
fn decode_checks_placeholders_of_binary_packets_only() {
    let out_of_range = br#"51-["a",{"_placeholder":true,"num":1}]"#;
    assert_eq!(
        decode(out_of_range),
        Err(DecodeError::PlaceholderOutOfRange {
            num: 1,
            attachments: 1
        })
    );
    let plain = br#"2["a",{"_placeholder":true,"num":1}]"#;
    assert!(decode(plain).is_ok());
}

#[test]
fn decode_rejects_text_that_is_not_utf8() {
    assert_eq!(decode(b"2[\"\xff\"]"), Err(DecodeError::NotUtf8));
    assert_eq!(decode(b"\xff"), Err(DecodeError::NotUtf8));
}

#[test]
fn split_event_returns_the_name_and_raw_arguments() {
    let (name, args) = split_event(br#"["chat", {"a":1},[2,3] ,"x",null]"#).expect("valid");
    assert_eq!(name, "chat");
    let raw: Vec<&str> = args.iter().map(|a| a.get()).collect();
    assert_eq!(raw, [r#"{"a":1}"#, "[2,3]", r#""x""#, "null"]);
    let (name, args) = split_event(br#"["a\"b\u00e9"]"#).expect("escaped name");
    assert_eq!((name.as_str(), args.len()), ("a\"bé", 0));
}

#[test]
fn split_event_rejects_what_is_not_an_event_array() {
    for data in [&b"[]"[..], b"{}", b"[1,\"a\"]", b"\"a\""] {
        assert_eq!(
            split_event(data).err(),
            Some(DecodeError::InvalidData(EVENT_SHAPE))
        );
    }
    assert!(matches!(
        split_event(b"[\"a\""),
        Err(DecodeError::InvalidJson(_))
    ));
    assert!(matches!(
        split_event(b"[\"a\"] 1"),
        Err(DecodeError::InvalidJson(_))
    ));
    assert_eq!(split_event(b"[\"\xff\"]").err(), Some(DecodeError::NotUtf8));
}

#[test]
fn event_data_joins_an_escaped_name_and_verbatim_arguments() {
    assert_eq!(event_data("ping", &[]), &br#"["ping"]"#[..]);
    let data = event_data("chat", &[b"1", br#"{"a":2}"#, b"\"x\""]);
    assert_eq!(data, &br#"["chat",1,{"a":2},"x"]"#[..]);
    let odd = event_data("q\"\\\t\u{1f}", &[b"[]"]);
    assert_eq!(odd, &br#"["q\"\\\t\u001f",[]]"#[..]);
    let (name, args) = split_event(&odd).expect("event_data output is an event");
    assert_eq!((name.as_str(), args.len()), ("q\"\\\t\u{1f}", 1));
}

#[test]
fn decode_errors_read_as_sentences() {
    assert_eq!(
        DecodeError::UnknownType(b'x').to_string(),
        "unknown Socket.IO packet type byte 0x78"
    );
    assert_eq!(
        DecodeError::MissingAckId(PacketKind::Ack).to_string(),
        "Ack packet needs an ack id"
    );
    assert_eq!(
        DecodeError::InvalidData(ACK_SHAPE).to_string(),
        "invalid packet data: expected a JSON array of ack arguments"
    );
}

#[test]
fn decode_rejects_a_mebibyte_of_garbage_without_panicking() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_be_bytes()[0]
        })
        .collect();
    for prefix in [&b""[..], b"2", b"51-", b"3/a,1", b"0", b"4"] {
        let text = [prefix, &noise].concat();
        assert!(decode(&text).is_err());
    }
    let nested = [&b"51-[\"a\","[..], &vec![b'['; 1 << 20]].concat();
    assert!(matches!(decode(&nested), Err(DecodeError::InvalidJson(_))));
    let deep_ok = format!("2[\"a\",{}{}]", "[".repeat(1 << 19), "]".repeat(1 << 19));
    assert!(decode(deep_ok.as_bytes()).is_ok());
    let deep_binary = format!("51-[\"a\",{}{}]", "[".repeat(200), "]".repeat(200));
    assert!(matches!(
        decode(deep_binary.as_bytes()),
        Err(DecodeError::InvalidJson(_))
    ));
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_packet() -> impl Strategy<Value = Packet> {
    let nsp = prop_oneof![Just("/".to_owned()), "/[a-zA-Z0-9_/.-]{1,12}"];
    (
        0u8..7,
        nsp,
        any::<u64>(),
        any::<bool>(),
        any::<String>(),
        prop::collection::vec(arb_json(), 0..4),
        1usize..=16,
    )
        .prop_map(|(digit, nsp, id, flag, name, args, attachments)| {
            let kind = PacketKind::from_digit(b'0' + digit).unwrap_or(PacketKind::Event);
            let mut args: Vec<Vec<u8>> = args.iter().map(|a| a.to_string().into_bytes()).collect();
            if kind.is_binary() {
                args.extend(
                    (0..attachments)
                        .map(|n| format!(r#"{{"_placeholder":true,"num":{n}}}"#).into_bytes()),
                );
            }
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            let array = Bytes::from([b"[", &args.join(&b","[..])[..], b"]"].concat());
            let object = Bytes::from(serde_json::json!({ "k": name }).to_string());
            let (id, data) = match kind {
                PacketKind::Connect => (None, flag.then_some(object)),
                PacketKind::Disconnect => (None, None),
                PacketKind::ConnectError if flag => (None, Some(object)),
                PacketKind::ConnectError => (
                    None,
                    Some(Bytes::from(serde_json::Value::String(name).to_string())),
                ),
                PacketKind::Event | PacketKind::BinaryEvent => {
                    (flag.then_some(id), Some(event_data(&name, &args)))
                }
                PacketKind::Ack | PacketKind::BinaryAck => (Some(id), Some(array)),
            };
            Packet {
                kind,
                nsp,
                id,
                data,
                attachments: if kind.is_binary() { attachments } else { 0 },
            }
        })
}

proptest! {
    #[test]
    fn every_valid_packet_round_trips_through_encode_and_decode(p in arb_packet()) {
        let limits = Limits::default();
        prop_assert_eq!(Packet::decode(&p.encode(), &limits), Ok(p.clone()));
        let message = p.encode_message();
        prop_assert_eq!(Packet::decode(&message.slice(1..), &limits), Ok(p));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..65536)) {
        let _ = decode(&bytes);
        let _ = split_event(&bytes);
        let _ = crate::socketio::binary::check_placeholders(&bytes, 3);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        header in prop::sample::select(vec!["0", "0/a,", "2", "2/a,1", "31", "51-", "62-/a,9", "4"]),
        tail in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        let _ = decode(&[header.as_bytes(), &tail].concat());
    }

    #[test]
    fn arbitrary_json_after_a_valid_header_never_panics(
        header in prop::sample::select(vec!["0", "2", "31", "52-", "62-1", "4"]),
        json in arb_json(),
    ) {
        let _ = decode(format!("{header}{json}").as_bytes());
    }
}
