//! A consent record body as the records API reads it: JSON parsing into the wire type, then the
//! domain's validation. Any bytes must end in a value or a clear error, never a panic.
#![no_main]

use assent::api::consents::ConsentAcceptIn;
use assent::domain::consents::{ConsentDraft, check_draft};
use assent::domain::ids::UserId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = assent::api::json::parse_json::<ConsentAcceptIn>(data) else { return };
    let user = UserId::from_uuid(uuid::Uuid::nil());
    let _ = check_draft(ConsentDraft::from(input), user, chrono::Utc::now());
});
