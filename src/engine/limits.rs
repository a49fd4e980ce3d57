//! Discord's limits, as named constants, plus the engine's own bounds.
//!
//! The engine checks content against these at load time, so a reply that Discord would reject
//! is a `paymedic check` error instead of a failed send in production.

/// Characters in a message's `content`.
pub const MESSAGE_CONTENT_LENGTH_MAX: usize = 2000;
/// Characters in an embed description.
pub const EMBED_DESCRIPTION_LENGTH_MAX: usize = 4096;
/// Characters in an embed title.
pub const EMBED_TITLE_LENGTH_MAX: usize = 256;
/// Characters across all of an embed's text (title, description, fields, footer, author).
pub const EMBED_TOTAL_LENGTH_MAX: usize = 6000;
/// Characters in a button label.
pub const BUTTON_LABEL_LENGTH_MAX: usize = 80;
/// Characters in a component `custom_id`.
pub const CUSTOM_ID_LENGTH_MAX: usize = 100;
/// Buttons in one action row.
pub const BUTTONS_PER_ROW_MAX: usize = 5;
/// Action rows in one message.
pub const ACTION_ROWS_MAX: usize = 5;
/// Choices in one slash-command option.
pub const COMMAND_CHOICES_MAX: usize = 25;

/// Options a content step may define; the three universal buttons ride along after them, and
/// everything must fit in [`ACTION_ROWS_MAX`] rows.
pub const STEP_OPTIONS_MAX: usize = 5;
/// The classifier reads at most this many characters of a message. Discord caps messages at
/// 4000 characters (Nitro), and the opening of a message carries its topic; the cap keeps the
/// cost of one classification bounded whatever a member pastes.
pub const CLASSIFY_CHARS_MAX: usize = 1000;
