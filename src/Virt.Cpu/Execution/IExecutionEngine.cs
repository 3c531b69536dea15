using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The contract of an execution engine: run the first instructions of a decoded block against the CPU's state. The
/// interpreter (<see cref="Interpreter"/>) is the first engine; a compiling tier attaches a second one to hot blocks through
/// <see cref="DecodedBlock.CompiledEntry"/>, chosen by <see cref="DecodedBlock.HitCount"/>.
/// </summary>
/// <remarks>
/// What every engine must do, so that tiers can be mixed block by block and determinism holds across them:
/// <list type="bullet">
/// <item>Execute instructions in order from the first, at most <c>count</c> of them, each with the architectural results
/// the interpreter gives (registers, lazy flags, memory, faults), and return how many it started.</item>
/// <item>Before each instruction set <see cref="CpuContext.InstructionStart"/> to EIP, then advance EIP past it (masked to
/// the code size), as the fault and trap return addresses depend on both.</item>
/// <item>Stop after an instruction that sets the CPU's block-exit flag (a fault, a control transfer that leaves the
/// block, a write to the block's own code, a mode change); the run loop then delivers a pending fault.</item>
/// <item>Count REP iterations beyond the first in the CPU's extra-retired counter, never more than the budget left.</item>
/// </list>
/// </remarks>
internal interface IExecutionEngine
{
    /// <summary>Runs up to <paramref name="count"/> instructions of <paramref name="block"/> from its first.</summary>
    /// <param name="block">The block (its instructions start at the current CS:EIP).</param>
    /// <param name="count">How many instructions at most (1 when single-stepping, fewer at a budget or CS limit).</param>
    /// <returns>The number of instructions started (the last may have faulted).</returns>
    int Execute(DecodedBlock block, int count);
}
