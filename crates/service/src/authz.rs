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

/// The console, the analytics and the reports: admins for the workspace,
/// supervisors for their teams.
pub(crate) fn require_reports(actor: &Actor) -> ServiceResult<()> {
    if matches!(
        actor.role,
        switchboard_core::Role::Admin | switchboard_core::Role::Supervisor
    ) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden("only admins and supervisors see reports"))
    }
}
