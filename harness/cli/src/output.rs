//! Standard output that never panics. `println!` panics when stdout is closed (`| head`) or
//! full (`> /dev/full`), which would end the command with Rust's 101 instead of the exit-code
//! contract; here the first failed write is remembered, later output is dropped, and `main`
//! ends the command with exit 1 and says why on stderr.

use std::fmt::Arguments;
use std::io::Write as _;
use std::sync::Mutex;

static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Writes to stdout (what `print!` would), unless an earlier write failed.
pub fn write(args: Arguments<'_>) {
    let mut failure = FAILURE.lock().unwrap_or_else(|e| e.into_inner());
    if failure.is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        *failure = Some(e.to_string());
    }
}

/// Why standard output could not be written, if it could not.
pub fn failure() -> Option<String> {
    FAILURE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// `print!` to stdout without panicking (in scope in every module through `#[macro_use]`).
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write(format_args!($($arg)*)) };
}

/// `println!` to stdout without panicking.
macro_rules! outln {
    () => { $crate::output::write(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write(format_args!("{}\n", format_args!($($arg)*))) };
}
