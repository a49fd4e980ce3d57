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
/// Characters in an embed field's value.
pub const EMBED_FIELD_VALUE_LENGTH_MAX: usize = 1024;
/// Characters in a thread's name.
pub const THREAD_NAME_LENGTH_MAX: usize = 100;
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

/// Bytes a content pack file may have. The shipped pack is about 116 KB; the cap keeps what
/// `check`, `chat` and the bot spend loading a pack bounded (a pack is trained on at load, so
/// a huge one costs gigabytes and minutes). The file's size is checked before it is read.
pub const CONTENT_PACK_BYTES_MAX: u64 = 4 << 20;
/// Bytes a config file may have (the example config is about 3 KB).
pub const CONFIG_BYTES_MAX: u64 = 1 << 20;
/// Bytes a labelled corpus for `paymedic eval` may have (the shipped one is about 80 KB).
pub const CORPUS_BYTES_MAX: u64 = 32 << 20;
/// Bytes of one stdin line that `paymedic classify` and `paymedic chat` read; the rest of a
/// longer line is skipped without being stored. The classifier reads only the first
/// [`CLASSIFY_CHARS_MAX`] characters anyway.
pub const INPUT_LINE_BYTES_MAX: usize = 64 << 10;
