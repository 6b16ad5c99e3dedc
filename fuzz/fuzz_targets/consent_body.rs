//! A consent record body as the records API reads it: lenient JSON parsing into the wire type,
//! then the domain's validation. Any bytes must end in a value or a clear error, never a panic.
#![no_main]

use assent::api::consents::ConsentAcceptIn;
use assent::domain::consents::check_draft;
use assent::domain::ids::UserId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((input, problems)) = assent::api::json::parse_json_lenient::<ConsentAcceptIn>(data) else { return };
    let user = UserId::from_uuid(uuid::Uuid::nil());
    let _ = check_draft(input.into_draft(problems), user, chrono::Utc::now());
});
