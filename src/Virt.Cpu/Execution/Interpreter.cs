using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The interpreter, the first <see cref="IExecutionEngine"/>: a loop over a block's <see cref="DecodedInstruction"/>s that
/// dispatches each through the switch on <see cref="Op"/> (Execution/Interpreter/Cpu.Dispatch.cs) to the instruction
/// semantics, grouped by family in Execution/Interpreter/.
/// </summary>
/// <remarks>
/// The semantics are methods of <see cref="Cpu"/> (partial files under Execution/Interpreter/): they read and write the
/// CPU's state, memory access paths and fault state on every instruction, and keeping them on the one object lets the JIT
/// inline the dispatch switch and its small handlers into this loop with <c>this</c> in a register. What belongs to the
/// interpreter alone (the loop, the dispatch) is here and in the dispatch file; nothing in it is shared with another engine.
/// </remarks>
internal sealed class Interpreter : IExecutionEngine
{
    private readonly Cpu _cpu;

    /// <summary>Creates the interpreter of one CPU.</summary>
    /// <param name="cpu">The CPU whose state it runs on.</param>
    public Interpreter(Cpu cpu) => _cpu = cpu;

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Execute(DecodedBlock block, int count) => _cpu.InterpretBlock(block, count);
}
