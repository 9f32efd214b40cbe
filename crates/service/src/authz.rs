//! Who may do what, where the permission matrix of `switchboard_core`
//! needs no record to decide: one place for the role checks every domain
//! shares.

use switchboard_core::permissions::Actor;

use crate::{ServiceError, ServiceResult};

pub(crate) fn require_admin(actor: &Actor) -> ServiceResult<()> {
    if actor.can_administer() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("only admins can do this"))
    }
}
