using System.Reflection.Emit;
using Virt.Cpu.Decoding;
using M = Virt.Cpu.Cpu.CompiledTierMembers;
using SideExit = Virt.Cpu.Cpu.CompiledSideExitMembers;

namespace Virt.Cpu;

/// <summary>
/// Side exits and the compiled part of a block: where the generated code stops before the block's end, it writes back the
/// state before the instruction it stops at and hands the rest of the block to the interpreter's loop within the same entry
/// (Cpu.CompiledSideExit.cs), so the run loop sees the block's usual boundaries.
/// </summary>
/// <remarks>
/// <para>
/// Two places stop: a memory access the inline probe does not take (beyond a segment bound, a TLB miss, a page-crossing
/// access, MMIO, a 16-bit stack...), whose out-of-line path was a write-back, a call of the interpreter for the one
/// instruction, a test of the exit flag and a reload of every local the straight path held, several hundred bytes of IL per
/// memory instruction with a join that made every local live across a call; and the end of the compiled part, when the
/// compiler compiles only a prefix of the block (<see cref="CompiledLength"/>). Both are now one write-back and one call.
/// The probe fails rarely on the Linux boots (the first access to a page, MMIO), so the interpreted rest costs little.
/// </para>
/// <para>
/// The compiled part leaves out what compiling would not speed up: instructions no interpreted entry reached before the
/// block was compiled (a block is decoded up to 64 instructions past its conditional branches, and many entries leave at
/// the first), the interpreter calls that end the block (a call from compiled code costs what the interpreter's loop
/// does), and whatever follows a long run of interpreter calls. Compile time, IL and code cache then grow with the code
/// that runs generated.
/// </para>
/// </remarks>
internal sealed partial class BlockEmitter
{
    /// <summary>A run of this many interpreter calls ends the compiled part: what follows it runs interpreted.</summary>
    internal const int LongInterpreterRun = 6;

    /// <summary>The instructions the block holds (the compiled part holds <see cref="_count"/> of them).</summary>
    private int _blockCount;

    /// <summary>How many of the block's first instructions the method compiles (the rest runs interpreted).</summary>
    public int CompiledCount => _count;

    /// <summary>How many instructions of the compiled part are generated inline (not interpreter calls).</summary>
    public int GeneratedCount { get; private set; }

    /// <summary>
    /// The compiled part of the block: its first <paramref name="limit"/> instructions at most, cut before the first run of
    /// <see cref="LongInterpreterRun"/> interpreter calls and after the last instruction generated inline.
    /// </summary>
    private int CompiledLength(DecodedInstruction[] instructions, int limit)
    {
        int end = 0;
        int generated = 0;
        int calls = 0;
        for (int i = 0; i < limit; i++)
        {
            if (GeneratesInline(ref instructions[i]))
            {
                generated++;
                calls = 0;
                end = i + 1;
            }
            else if (++calls == LongInterpreterRun)
            {
                break;
            }
        }

        GeneratedCount = generated;
        return end;
    }

    /// <summary>Whether the emitter generates the instruction itself (a register form or a memory form) rather than calling the interpreter.</summary>
    private bool GeneratesInline(ref DecodedInstruction d) =>
        IsInlined(in d) || MemoryFormFits(in d) || WordAddressedFormFits(ref d) || RepStringFits(in d);

    /// <summary>
    /// The end of the method: the block's end when the whole block is compiled, else a side exit to the rest of the block.
    /// </summary>
    private void EmitBlockEnd()
    {
        if (_count < _blockCount)
        {
            EmitSideExit(_count);
            return;
        }

        WriteBack(_count - 1, updateState: true);
        _il.Emit(OpCodes.Ldc_I4, _count);
        _il.Emit(OpCodes.Ret);
    }

    /// <summary>
    /// Writes back the state before instruction <paramref name="index"/> (the registers and flag record the current view
    /// holds, EIP at the instruction's first byte) and returns what the interpreter's loop returns for the rest of the
    /// block from there.
    /// </summary>
    private void EmitSideExit(int index)
    {
        ILGenerator il = _il;
        WriteBack(index - 1, updateState: false);
        if (index == 0 && _ripStoredFor != -1)
        {
            // CALL and RET write back EIP past themselves before their probes; a block of one of them restarts it here.
            il.Emit(OpCodes.Ldloc, _ctx);
            il.Emit(OpCodes.Ldloc, _rip0);
            il.Emit(OpCodes.Stfld, M.Rip);
        }

        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Ldc_I4, index);
        il.Emit(OpCodes.Ldarg_2);
        il.Emit(OpCodes.Call, SideExit.ContinueInterpreted);
        il.Emit(OpCodes.Ret);
    }
}
