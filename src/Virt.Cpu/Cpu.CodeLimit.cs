using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The CS limit check on instruction fetch (Intel SDM Vol. 3A, 5.3; Vol. 3A, 20.1.3 for real mode): every byte of an
/// instruction must lie within CS.limit, or the instruction raises #GP(0) with the return address on it. Decoded blocks are
/// cached by physical address and may be reached through code segments with different limits, so the limit is not baked
/// into them: the run loop compares EIP + the block's byte length with the limit when it enters a block (one compare), and
/// only a block that runs past the limit is cut short here.
/// </summary>
public sealed partial class Cpu
{
    private readonly DecodedBlock _codeLimitFaultBlock = CreateCodeLimitFaultBlock();
    private uint _lastDecodeByteLength;

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
    /// How many of the block's first <paramref name="count"/> instructions lie wholly within CS.limit; 0 when not even the
    /// first does (the caller then runs <see cref="_codeLimitFaultBlock"/>). In real mode this also catches an instruction
    /// that runs past offset FFFFh (with the usual limit), which 80386 and later processors fault rather than wrap.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private int InstructionsWithinCodeLimit(DecodedBlock block, int count)
    {
        ulong limit = _segLimit[Cs];
        ulong ip = _eip;
        int within = 0;
        DecodedInstruction[] instructions = block.Instructions;
        while (within < count)
        {
            ulong length = ReferenceEquals(block, _fetchFaultBlock) ? 1UL : (ulong)instructions[within].Length;
            if (ip + length - 1 > limit)
            {
                break;
            }

            ip += length;
            within++;
        }

        return within;
    }

    /// <summary>The pseudo-instruction standing for an instruction that does not lie wholly within CS.limit: #GP(0).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ExecuteCodeLimitFault() => RaiseFault(VectorGeneralProtection, 0);
}
