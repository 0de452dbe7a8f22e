//! A test fixture, not a product: the module's own panic hook (`src/answer.rs`), then a panic.
//! The runner tests build it for wasm32-wasip1 and check that a panicking module answers one 500
//! envelope line and ends with `proc_exit`, not a trap (whose WasmEdge error lines would follow
//! the answer on OSC).

#[path = "../src/answer.rs"]
mod answer;

fn main() {
    answer::install_panic_answer();
    let input: Vec<u8> = Vec::new();
    // An out-of-bounds index, the kind of bug the hook is there for.
    let byte = input[std::hint::black_box(3)];
    println!("unreachable: {byte}");
}
