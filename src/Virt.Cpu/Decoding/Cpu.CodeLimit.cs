using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The CS limit check on instruction fetch (Intel SDM Vol. 3A, 5.3; Vol. 3A, 20.1.3 for real mode): every byte of an
/// instruction must lie within CS.limit, or the instruction raises #GP(0) with the return address on it. Decoded blocks are
/// cached by physical address and may be reached through code segments with different limits, so the limit is not baked
/// into them: the run loop compares EIP + the block's byte length with the limit (and, for 16-bit code, with 10000h) when it
/// enters a block (one compare), and only a block that runs past it is cut short here.
/// </summary>
public sealed partial class Cpu
{
    private readonly DecodedBlock _codeLimitFaultBlock = CreateCodeLimitFaultBlock();

    private static DecodedBlock CreateCodeLimitFaultBlock()
    {
        var block = new DecodedBlock(1);
        block.Instructions[0].Op = Op.CsLimitFault;
        block.Instructions[0].EndsBlock = true;
        block.Count = 1;
        block.Valid = false;
        return block;
    }

    /// <summary>
    /// Cuts a block that runs past CS.limit, or in 16-bit code past offset FFFFh, to the instructions that lie wholly within
    /// both (the run loop calls this only when the block's byte length says it may not fit). When not even the first
    /// instruction fits: #GP(0) through <see cref="_codeLimitFaultBlock"/> if it crosses the limit; otherwise (16-bit code
    /// with a limit above FFFFh) its bytes wrap to CS:0000 for this entry, while the cached block was decoded through a CS:IP
    /// where they did not (cached blocks never hold wrapping bytes), so it is decoded afresh, uncached. In real mode and
    /// virtual-8086 mode the limit is FFFFh: an instruction that runs past offset FFFFh faults, as on 80386 and later
    /// processors, rather than wrapping.
    /// </summary>
    /// <param name="block">The block fetched for CS:EIP.</param>
    /// <param name="count">How many of its instructions the loop wants to run.</param>
    /// <returns>
    /// The block to run and how many of its instructions (returned rather than passed by reference, so that the run loop's
    /// count stays in a register).
    /// </returns>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private (DecodedBlock Block, int Count) FitBlockToCodeSegment(DecodedBlock block, int count)
    {
        ulong limit = _ctx.SegLimit[Cs];
        ulong ipMask = _ctx.Code32 ? uint.MaxValue : 0xFFFF;
        ulong ip = _ctx.Rip;
        int within = 0;
        DecodedInstruction[] instructions = block.Instructions;
        while (within < count)
        {
            ulong last = ip + (ReferenceEquals(block, _fetchFaultBlock) ? 1UL : instructions[within].Length) - 1;
            if (last > limit || last > ipMask)
            {
                break;
            }

            ip = last + 1;
            within++;
        }

        if (within > 0)
        {
            return (block, within);
        }

        ulong firstLast = ip + (ReferenceEquals(block, _fetchFaultBlock) ? 1UL : instructions[0].Length) - 1;
        if (limit > ipMask && firstLast > ipMask)
        {
            // Every wrapped offset is at most FFFFh, below the limit. The scratch block already is this CS:EIP's own decode.
            return (ReferenceEquals(block, _scratchBlock) ? block : DecodeUncachedAtEip(), 1);
        }

        return (_codeLimitFaultBlock, 1);
    }

    /// <summary>The pseudo-instruction standing for an instruction that does not lie wholly within CS.limit: #GP(0).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteCodeLimitFault() => RaiseFault(VectorGeneralProtection, 0);
}
