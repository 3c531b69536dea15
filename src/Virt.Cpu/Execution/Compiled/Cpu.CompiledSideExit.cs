using System.Reflection;
using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The compiled tier's side exit: where generated code stops before the block's end (a memory access its inline probe
/// does not take, or the end of the part of the block that was compiled), the rest of the block runs in the interpreter's
/// loop within the same entry, so the block's boundaries (where the run loop takes interrupts and counts the budget) stay
/// the interpreter's (see Execution/Compiled/BlockEmitter.SideExit.cs).
/// </summary>
public sealed partial class Cpu
{
    /// <summary>How many times compiled code left its method for the interpreter before the block's end.</summary>
    private long _sideExits;

    /// <summary>How many times compiled code left its method for the interpreter before the block's end (for the statistics).</summary>
    internal long SideExits => _sideExits;

    /// <summary>
    /// Runs instructions <paramref name="start"/> onwards of <paramref name="block"/> in the interpreter's loop, the state
    /// being that before instruction <paramref name="start"/> (EIP at its first byte), up to <paramref name="count"/>
    /// instructions in all. When the exit flag is already set (the instruction before, called through the interpreter,
    /// ended the block) nothing more runs, as the interpreter's loop would stop there.
    /// </summary>
    /// <returns>The instructions started in the block, those before <paramref name="start"/> included.</returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int ContinueInterpretedForCompiledTier(DecodedBlock block, int start, int count)
    {
        if (_exitBlock)
        {
            return start;
        }

        _sideExits++;
        return start + InterpretBlockFrom(block, start, Math.Max(Math.Min(count, block.Count) - start, 0));
    }

    /// <summary>The side exit's entry point, for the generated code (by reflection, once).</summary>
    internal static class CompiledSideExitMembers
    {
        /// <summary>Cpu.ContinueInterpretedForCompiledTier(DecodedBlock, int, int).</summary>
        public static readonly MethodInfo ContinueInterpreted =
            typeof(Cpu).GetMethod(nameof(ContinueInterpretedForCompiledTier), BindingFlags.Instance | BindingFlags.NonPublic)
            ?? throw new InvalidOperationException($"The compiled tier needs the method Cpu.{nameof(ContinueInterpretedForCompiledTier)}.");
    }
}
