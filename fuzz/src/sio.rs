//! Socket.IO codec targets: one packet, and a binary packet's attachment reassembly.

use std::time::{Duration, Instant};

use bytes::Bytes;
use iorelay_core::engineio::packet::{Frame, Packet as EioPacket};
use iorelay_core::socketio::{
    check_placeholders, event_data, split_event, DecodeError, Limits, Packet, PacketKind, Progress,
    Reassembly,
};

use super::cursor::Cursor;

/// Socket.IO packet: the first byte picks the attachment limit, the rest is the packet text.
///
/// A packet that decodes must have the shape the decoder documents (namespace, ack id, data and
/// attachment count per kind), decode again from its encoding to the same packet, encode
/// canonically (encoding the decoded encoding gives it back), travel inside an Engine.IO message
/// unchanged, and — for events and acks — rebuild from the helper constructors.
pub fn socketio_packet(data: &[u8]) {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let limits = limits(selector);
    let text = Bytes::copy_from_slice(text);
    let Ok(packet) = Packet::decode(&text, &limits) else {
        return;
    };
    check_shape(&packet, &limits, &text);

    let encoded = packet.encode();
    let again = Packet::decode(&encoded, &limits);
    assert_eq!(
        again.as_ref(),
        Ok(&packet),
        "encode then decode changed the packet"
    );
    assert_eq!(again.map(|p| p.encode()), Ok(encoded.clone()));

    let message = packet.encode_message();
    assert_eq!(message.first(), Some(&b'4'));
    assert_eq!(message.get(1..), Some(&encoded[..]));
    assert_eq!(
        EioPacket::decode(Frame::Text(message)),
        Ok(EioPacket::Message(encoded)),
        "a Socket.IO packet does not travel unchanged in an Engine.IO message"
    );

    rebuild_with_constructors(&packet, &limits);
}

/// Socket.IO binary reassembly: limits, then a header packet text, then attachments, each as a
/// length-prefixed chunk.
///
/// A header that decodes is reassembled; the reassembly must complete exactly when the
/// announced count has arrived, hand back the header and the attachments in order, never
/// exceed its byte cap, keep its deadline, and refuse attachments nobody announced.
pub fn socketio_binary(data: &[u8]) {
    let mut input = Cursor::new(data);
    let limits = limits(input.byte());
    let max_bytes = input.pick(&[0, 1, 8, 64, 1024, 1 << 20, usize::MAX]);
    let timeout = match input.byte() {
        0xff => Duration::MAX,
        n => Duration::from_millis(u64::from(n) * 100),
    };
    let header = Bytes::copy_from_slice(input.chunk());
    let Ok(packet) = Packet::decode(&header, &limits) else {
        return;
    };
    let now = Instant::now();
    let deadline = now.checked_add(timeout).unwrap_or(now);
    let mut reassembly = Reassembly::start(packet.clone(), now, timeout, max_bytes);
    assert_eq!(reassembly.deadline(), deadline);
    assert_eq!(reassembly.packet(), &packet);

    let mut pushed = Vec::new();
    let mut total = 0usize;
    while !input.is_empty() {
        let attachment = Bytes::copy_from_slice(input.chunk());
        total = total.saturating_add(attachment.len());
        pushed.push(attachment.clone());
        match reassembly.push(attachment) {
            Ok(Progress::NeedMore(next)) => {
                assert!(
                    pushed.len() < packet.attachments,
                    "asks for more than announced"
                );
                assert!(total <= max_bytes, "kept {total} bytes over the cap");
                assert_eq!(next.deadline(), deadline, "the deadline moved");
                reassembly = next;
            }
            Ok(Progress::Complete(done, attachments)) => {
                assert_eq!(done, packet, "the header changed during reassembly");
                assert_eq!(attachments, pushed, "attachments lost or reordered");
                assert_eq!(attachments.len(), packet.attachments);
                assert!(total <= max_bytes, "completed {total} bytes over the cap");
                return;
            }
            Err(DecodeError::UnexpectedAttachment) => {
                assert!(
                    pushed.len() > packet.attachments,
                    "refused announced attachment {} of {}",
                    pushed.len(),
                    packet.attachments
                );
                return;
            }
            Err(DecodeError::AttachmentsTooLarge { max_bytes: cap }) => {
                assert_eq!(cap, max_bytes);
                assert!(
                    total > max_bytes,
                    "refused {total} bytes under the cap {max_bytes}"
                );
                return;
            }
            Err(other) => panic!("unexpected reassembly error {other:?}"),
        }
    }
}

/// The attachment limit a selector byte picks: mostly small, sometimes none or unbounded.
fn limits(selector: u8) -> Limits {
    let max_attachments = match selector {
        0xff => usize::MAX,
        0xfe => 0,
        n => usize::from(n % 20),
    };
    Limits { max_attachments }
}

/// The decoder's documented guarantees on a packet it accepted from `text`.
fn check_shape(packet: &Packet, limits: &Limits, text: &Bytes) {
    assert!(packet.nsp.starts_with('/'), "namespace {:?}", packet.nsp);
    assert!(!packet.nsp.contains(','), "namespace {:?}", packet.nsp);
    let kind = packet.kind;
    match kind {
        PacketKind::Ack | PacketKind::BinaryAck => assert!(packet.id.is_some(), "{kind:?} id"),
        PacketKind::Connect | PacketKind::Disconnect | PacketKind::ConnectError => {
            assert!(packet.id.is_none(), "{kind:?} with an ack id");
        }
        PacketKind::Event | PacketKind::BinaryEvent => {}
    }
    match kind {
        PacketKind::Disconnect => assert!(packet.data.is_none(), "DISCONNECT with data"),
        PacketKind::Connect => {}
        _ => assert!(packet.data.is_some(), "{kind:?} without data"),
    }
    if kind.is_binary() {
        assert!(packet.attachments >= 1, "binary packet without attachments");
        assert!(packet.attachments <= limits.max_attachments);
        if let Some(data) = &packet.data {
            assert_eq!(check_placeholders(data, packet.attachments), Ok(()));
        }
    } else {
        assert_eq!(packet.attachments, 0, "{kind:?} with attachments");
    }
    if let Some(data) = &packet.data {
        let inside = text.as_ptr_range();
        let slice = data.as_ptr_range();
        assert!(
            data.is_empty() || (inside.start <= slice.start && slice.end <= inside.end),
            "data is not a slice of the input"
        );
    }
}

/// Events and acks rebuilt with `event_data`, `Packet::event` and `Packet::ack` must decode to
/// the same name, arguments and header fields.
fn rebuild_with_constructors(packet: &Packet, limits: &Limits) {
    let Some(data) = &packet.data else {
        return;
    };
    match packet.kind {
        PacketKind::Event | PacketKind::BinaryEvent => {
            let (name, args) = match split_event(data) {
                Ok(parts) => parts,
                Err(e) => panic!("decoded event data {data:?} does not split: {e}"),
            };
            let args: Vec<&[u8]> = args.iter().map(|raw| raw.get().as_bytes()).collect();
            let rebuilt = event_data(&name, &args);
            let (name2, args2) = match split_event(&rebuilt) {
                Ok(parts) => parts,
                Err(e) => panic!("event_data output {rebuilt:?} does not split: {e}"),
            };
            let args2: Vec<&[u8]> = args2.iter().map(|raw| raw.get().as_bytes()).collect();
            assert_eq!(name2, name, "event name changed by event_data");
            assert_eq!(args2, args, "event arguments changed by event_data");
            let event = Packet::event(&packet.nsp, rebuilt, packet.id, packet.attachments);
            let decoded = Packet::decode(&event.encode(), limits);
            assert_eq!(
                decoded.map(|p| (p.kind, p.nsp, p.id, p.attachments)),
                Ok((
                    packet.kind,
                    packet.nsp.clone(),
                    packet.id,
                    packet.attachments
                )),
                "Packet::event does not rebuild the event"
            );
        }
        PacketKind::Ack | PacketKind::BinaryAck => {
            let id = packet.id.unwrap_or_default();
            let ack = Packet::ack(&packet.nsp, id, data.clone(), packet.attachments);
            assert_eq!(&ack, packet, "Packet::ack does not rebuild the ack");
        }
        _ => {}
    }
}
