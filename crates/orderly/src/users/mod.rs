//! Console users: people who sign in to the console with a role, and their sessions.
//! API keys are for programs; a user is a person, with a password (argon2id, hashed on a
//! blocking thread so a sign-in never stalls the async workers), a lockout after
//! repeated wrong passwords, and sessions that end when idle and after an absolute time.
//! What a user does is decided by the same commands as the API, with `Actor::User` and
//! the user's role. `orderly users …` (`cli.rs`) and the console's sign-in page use
//! these commands; the cookies and forms are the console's (`console::session`).

pub mod cli;
pub mod commands;
pub mod passwords;
