//! Table and column names for sea-query.

use sea_query::Iden;

#[derive(Iden, Clone, Copy)]
pub enum InstanceSettings {
    Table,
    Key,
    Value,
}

#[derive(Iden, Clone, Copy)]
pub enum Workspaces {
    Table,
    Id,
    Name,
    TimeZone,
    CreatedAt,
    AllowPrivateTargets,
    Routing,
    RetentionDays,
    MonthlyArchive,
    CloseReasons,
}

#[derive(Iden, Clone, Copy)]
pub enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Memberships {
    Table,
    WorkspaceId,
    UserId,
    Role,
    Availability,
    Capacity,
    LastAssignedAt,
    CreatedAt,
    AvailabilityChangedAt,
    DisplayName,
}

#[derive(Iden, Clone, Copy)]
pub enum Invitations {
    Table,
    Id,
    WorkspaceId,
    Email,
    DisplayName,
    Role,
    Capacity,
    TeamIds,
    TokenHash,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Teams {
    Table,
    Id,
    WorkspaceId,
    Name,
    AssignmentRule,
    CreatedAt,
    Routing,
}

#[derive(Iden, Clone, Copy)]
pub enum TeamMembers {
    Table,
    TeamId,
    UserId,
    WorkspaceId,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Channels {
    Table,
    Id,
    WorkspaceId,
    Kind,
    Name,
    Secret,
    CallbackUrl,
    DefaultTeamId,
    ReopenMinutes,
    Settings,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Contacts {
    Table,
    Id,
    WorkspaceId,
    Name,
    Phone,
    Email,
    Country,
    Attributes,
    CreatedAt,
    UpdatedAt,
    LegalHold,
    SearchText,
}

#[derive(Iden, Clone, Copy)]
pub enum ContactIdentities {
    Table,
    ChannelId,
    ExternalId,
    WorkspaceId,
    ContactId,
    CreatedAt,
    SearchText,
}

#[derive(Iden, Clone, Copy)]
pub enum Conversations {
    Table,
    Id,
    WorkspaceId,
    ChannelId,
    ContactId,
    TeamId,
    AssigneeId,
    Status,
    Priority,
    Ticket,
    CloseComment,
    Rating,
    CreatedAt,
    AssignedAt,
    FirstAssignedAt,
    FirstReplyAt,
    FirstReplyAfterAssignmentAt,
    LastCustomerMessageAt,
    LastMessageAt,
    ClosedAt,
    QueuedAt,
    SnoozedUntil,
    UpdatedAt,
    FeedbackRequestedAt,
    WindowClosedAt,
    LegalHold,
    HandedOffAt,
    MessagesIn,
    MessagesOut,
    CloseReason,
    StartedBy,
}

#[derive(Iden, Clone, Copy)]
pub enum AssignmentLegs {
    Table,
    WorkspaceId,
    ConversationId,
    AgentId,
    TeamId,
    FromAgentId,
    StartReason,
    AssignedAt,
    FirstReplyAt,
    EndedAt,
    EndReason,
}

#[derive(Iden, Clone, Copy)]
pub enum Tags {
    Table,
    Id,
    WorkspaceId,
    Name,
    Color,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum ConversationTags {
    Table,
    ConversationId,
    TagId,
}

#[derive(Iden, Clone, Copy)]
pub enum ContactTags {
    Table,
    ContactId,
    TagId,
}

#[derive(Iden, Clone, Copy)]
pub enum Messages {
    Table,
    Id,
    WorkspaceId,
    ConversationId,
    ChannelId,
    Direction,
    SenderKind,
    SenderId,
    Kind,
    Body,
    Activity,
    InReplyTo,
    ProviderMessageId,
    DeliveryStatus,
    DeliveryError,
    CreatedAt,
    SendAt,
    Buttons,
    SearchText,
    EditedAt,
    Subject,
    Html,
}

#[derive(Iden, Clone, Copy)]
pub enum MessageEdits {
    Table,
    MessageId,
    WorkspaceId,
    Body,
    ReplacedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Sessions {
    Table,
    TokenHash,
    UserId,
    CsrfToken,
    CreatedAt,
    ExpiresAt,
}

#[derive(Iden, Clone, Copy)]
pub enum ApiTokens {
    Table,
    Id,
    WorkspaceId,
    UserId,
    Name,
    Prefix,
    TokenHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Jobs {
    Table,
    Id,
    Kind,
    Payload,
    State,
    Attempts,
    MaxAttempts,
    RunAt,
    LockedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum AuditLog {
    Table,
    Id,
    WorkspaceId,
    ActorId,
    Action,
    TargetKind,
    TargetId,
    Details,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Webhooks {
    Table,
    Id,
    WorkspaceId,
    Url,
    Secret,
    Events,
    Enabled,
    Description,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum WebhookDeliveries {
    Table,
    Id,
    WorkspaceId,
    WebhookId,
    EventType,
    EventSeq,
    Payload,
    Status,
    Attempts,
    ResponseStatus,
    LastError,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Attachments {
    Table,
    Id,
    WorkspaceId,
    ConversationId,
    MessageId,
    UploaderKind,
    UploaderId,
    Kind,
    Mime,
    Filename,
    Size,
    Sha256,
    StorageKey,
    Width,
    Height,
    CreatedAt,
    PreviewKey,
    PreviewMime,
    PreviewSize,
}

#[derive(Iden, Clone, Copy)]
pub enum AttachmentLimits {
    Table,
    WorkspaceId,
    ImageBytes,
    VideoBytes,
    AudioBytes,
    DocumentBytes,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Notifications {
    Table,
    Id,
    WorkspaceId,
    UserId,
    Kind,
    ConversationId,
    MessageId,
    ActorUserId,
    Excerpt,
    CreatedAt,
    ReadAt,
}

#[derive(Iden, Clone, Copy)]
pub enum BotSessions {
    Table,
    ConversationId,
    WorkspaceId,
    Step,
    Failures,
    LastMessageId,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum QuickReplies {
    Table,
    Id,
    WorkspaceId,
    Scope,
    OwnerUserId,
    TeamId,
    Shortcut,
    Text,
    AttachmentId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum MessageTemplates {
    Table,
    Id,
    WorkspaceId,
    ChannelId,
    Name,
    Language,
    Category,
    Body,
    Parts,
    Quality,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Campaigns {
    Table,
    Id,
    WorkspaceId,
    ChannelId,
    TemplateId,
    Name,
    Audience,
    Variables,
    Status,
    RatePerSecond,
    SendAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum CampaignRecipients {
    Table,
    CampaignId,
    Position,
    WorkspaceId,
    ExternalId,
    Name,
    ContactId,
    Params,
    Status,
    Reason,
    ConversationId,
    MessageId,
    Attempts,
    NextAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum OptOuts {
    Table,
    ChannelId,
    ExternalId,
    WorkspaceId,
    Keyword,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum SavedFilters {
    Table,
    Id,
    WorkspaceId,
    UserId,
    Name,
    Query,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum MonthlyArchives {
    Table,
    WorkspaceId,
    Month,
    FromMs,
    BeforeMs,
    StorageKey,
    Conversations,
    Bytes,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum AssistSettings {
    Table,
    WorkspaceId,
    BaseUrl,
    Model,
    ApiKeySealed,
    TimeoutMs,
    Features,
    SendNotes,
    MaskContacts,
    RecordText,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum AssistCalls {
    Table,
    Id,
    WorkspaceId,
    UserId,
    ConversationId,
    Action,
    Model,
    PromptTokens,
    CompletionTokens,
    LatencyMs,
    Outcome,
    InputText,
    OutputText,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum EventHeads {
    Table,
    WorkspaceId,
    FirstSeq,
    LastSeq,
}

#[derive(Iden, Clone, Copy)]
pub enum EventLog {
    Table,
    WorkspaceId,
    Seq,
    Kind,
    Scope,
    Data,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum EventMarks {
    Table,
    WorkspaceId,
    At,
    Seq,
}

#[derive(Iden, Clone, Copy)]
pub enum EventCursors {
    Table,
    Consumer,
    WorkspaceId,
    Seq,
}

#[derive(Iden, Clone, Copy)]
pub enum PresenceLeases {
    Table,
    NodeId,
    WorkspaceId,
    UserId,
    ExpiresAt,
}

#[derive(Iden, Clone, Copy)]
pub enum RateHits {
    Table,
    Bucket,
    WindowStart,
    Hits,
}

#[derive(Iden, Clone, Copy)]
pub enum ChannelHookStatus {
    Table,
    ChannelId,
    WorkspaceId,
    LastReceivedAt,
    LastError,
    LastErrorAt,
}
