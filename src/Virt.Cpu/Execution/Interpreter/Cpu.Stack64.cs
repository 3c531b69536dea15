using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// The stack instructions of 64-bit mode, where the stack pointer is RSP whatever SS.B says, there are no segment limits,
/// and a non-canonical stack address is #SS(0) (Intel SDM Vol. 1, 6.2.5 and Vol. 2B, POP, ENTER, LEAVE).
/// </summary>
public sealed partial class Cpu
{
    /// <summary>POP r/m, POP FS/GS in 64-bit mode (operand size 8, or 2 with 66h).</summary>
    private void ExecutePop64(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong rsp = _ctx.Gpr[RegSp];
        if (!TryReadFast64(Ss, rsp, size, out ulong value))
        {
            return;
        }

        switch (d.Kind0)
        {
            case OperandKind.Segment:
                if (LoadSegment(d.Reg0, (ushort)value))
                {
                    _ctx.Gpr[RegSp] = rsp + (uint)size;
                }

                break;
            case OperandKind.Register:
                // POP RSP: the popped value wins over the increment (Intel SDM Vol. 2B, POP).
                _ctx.Gpr[RegSp] = rsp + (uint)size;
                WriteRegister(d.Reg0, size, value);
                break;
            default:
                // POP to memory computes the address after incrementing RSP.
                _ctx.Gpr[RegSp] = rsp + (uint)size;
                WriteMem(d.Seg, EffectiveAddress(ref d), size, value);
                if (_faulted)
                {
                    _ctx.Gpr[RegSp] = rsp;
                }

                break;
        }
    }

    /// <summary>ENTER in 64-bit mode, with every nesting level (Intel SDM Vol. 2A, ENTER, 64-bit pseudo-code).</summary>
    private void ExecuteEnter64(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong allocSize = d.Imm & 0xFFFF;
        int level = (int)(d.Imm2 & 0x1F);
        ulong rsp = _ctx.Gpr[RegSp] - (uint)size;
        ulong rbp = _ctx.Gpr[RegBp];
        WriteMem(Ss, rsp, size, ReadRegister(RegBp, size));
        if (_faulted)
        {
            return;
        }

        ulong frameTemp = rsp;
        if (level > 0)
        {
            for (int i = 1; i < level; i++)
            {
                rbp -= (uint)size;
                ulong value = ReadMem(Ss, rbp, size);
                rsp -= (uint)size;
                WriteMem(Ss, rsp, size, value);
                if (_faulted)
                {
                    return;
                }
            }

            rsp -= (uint)size;
            WriteMem(Ss, rsp, size, frameTemp);
            if (_faulted)
            {
                return;
            }
        }

        rsp -= allocSize;

        // The final stack pointer must be writable (#SS or #PF, nothing committed): probe it with a read-back write.
        ulong probe = ReadMem(Ss, rsp, size);
        if (!_faulted)
        {
            WriteMem(Ss, rsp, size, probe);
        }

        if (_faulted)
        {
            return;
        }

        WriteRegister(RegBp, size, frameTemp);
        _ctx.Gpr[RegSp] = rsp;
    }

    /// <summary>LEAVE in 64-bit mode: RSP = RBP, then POP RBP (Intel SDM Vol. 2A, LEAVE).</summary>
    private void ExecuteLeave64(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong rbp = _ctx.Gpr[RegBp];
        ulong value = ReadMem(Ss, rbp, size);
        if (_faulted)
        {
            return;
        }

        _ctx.Gpr[RegSp] = rbp + (uint)size;
        WriteRegister(RegBp, size, value);
    }
}
