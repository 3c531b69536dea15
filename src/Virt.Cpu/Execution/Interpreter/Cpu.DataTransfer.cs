using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Data movement: MOV and friends, XCHG, stack instructions, far-pointer loads, ENTER/LEAVE, BOUND, XADD, CMPXCHG, CMOVcc.</summary>
public sealed partial class Cpu
{
    private void ExecuteMov(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong value = ReadOperand1(ref d, size);
        if (!_faulted)
        {
            WriteOperand0(ref d, size, value);
        }
    }

    private void ExecuteMovToSegment(ref DecodedInstruction d)
    {
        ulong value = ReadOperand1(ref d, 2);
        if (_faulted)
        {
            return;
        }

        if (!LoadSegment(d.Reg0, (ushort)value))
        {
            return;
        }

        if (d.Reg0 == Ss)
        {
            // Intel SDM Vol. 3A, 6.8.3: MOV SS inhibits interrupts and debug traps until after the next instruction.
            _inhibitInterrupts = true;
            _inhibitDebugTrap = true;
            _exitBlock = true;
        }
    }

    private void ExecuteMovzx(ref DecodedInstruction d, bool signExtend)
    {
        ulong value = ReadOperand1(ref d, d.Size1);
        if (!_faulted)
        {
            WriteRegister(d.Reg0, d.OpSize, signExtend ? (ulong)SignExtend(value, d.Size1) : value);
        }
    }

    private void ExecuteXchg(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        if (d.Kind0 == OperandKind.Register && d.Kind1 == OperandKind.Register)
        {
            ulong a = ReadRegister(d.Reg0, size);
            ulong b = ReadRegister(d.Reg1, size);
            WriteRegister(d.Reg0, size, b);
            WriteRegister(d.Reg1, size, a);
            return;
        }

        // One operand is memory (Iced puts it first); the other a register.
        int reg = d.Kind0 == OperandKind.Register ? d.Reg0 : d.Reg1;
        ulong ea = EffectiveAddress(ref d);
        ulong mem = ReadMem(d.Seg, ea, size);
        if (_faulted)
        {
            return;
        }

        WriteMem(d.Seg, ea, size, ReadRegister(reg, size));
        if (!_faulted)
        {
            WriteRegister(reg, size, mem);
        }
    }

    private void ExecuteXlat(ref DecodedInstruction d)
    {
        ulong offset = (ReadRegister(RegBx, d.AddrSize) + (byte)_ctx.Gpr[RegAx]) & SizeMask(d.AddrSize);

        ulong value = ReadMem(d.Seg, offset, 1);
        if (!_faulted)
        {
            WriteRegister(RegAx, 1, value);
        }
    }

    private void ExecutePush(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong value = d.Kind0 switch
        {
            OperandKind.Immediate => d.Imm,
            OperandKind.Segment => _ctx.SegSelector[d.Reg0],
            _ => ReadOperand0(ref d, size),
        };
        if (!_faulted)
        {
            // PUSH SP pushes the value before the decrement on the 286 and later (Intel SDM Vol. 2B, PUSH).
            Push(value, size);
        }
    }

    private void ExecutePop(ref DecodedInstruction d)
    {
        if (_ctx.Code64)
        {
            ExecutePop64(ref d);
            return;
        }

        int size = d.OpSize;
        uint sp = StackPointer;
        ulong value = ReadMem(Ss, sp, size);
        if (_faulted)
        {
            return;
        }

        switch (d.Kind0)
        {
            case OperandKind.Segment:
                // The increment follows the stack size at the start of the instruction: POP SS loading a segment with
                // another B bit still moves SP only (ESP[31:16] kept) when the old SS was 16-bit, all of ESP when it was
                // 32-bit (Intel SDM Vol. 2B, POP: "IF StackAddrSize = 32 ... ELSE SP <- SP + 4").
                bool stack32 = _ctx.Stack32;
                uint newSp = (sp + (uint)size) & StackMask;
                if (!LoadSegment(d.Reg0, (ushort)value))
                {
                    return;
                }

                _ctx.Gpr[RegSp] = stack32 ? newSp : (_ctx.Gpr[RegSp] & ~0xFFFFUL) | (ushort)newSp;
                if (d.Reg0 == Ss)
                {
                    _inhibitInterrupts = true;
                    _inhibitDebugTrap = true;
                    _exitBlock = true;
                }

                break;
            case OperandKind.Register:
                SetStackPointer((sp + (uint)size) & StackMask);
                WriteRegister(d.Reg0, size, value);
                break;
            default:
                // POP to memory computes the address after incrementing SP (Intel SDM Vol. 2B, POP).
                SetStackPointer((sp + (uint)size) & StackMask);
                WriteMem(d.Seg, EffectiveAddress(ref d), size, value);
                if (_faulted)
                {
                    SetStackPointer(sp);
                }

                break;
        }
    }

    private void ExecutePusha(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        ulong originalSp = ReadRegister(RegSp, size);
        for (int r = 0; r < 8; r++)
        {
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, r == RegSp ? originalSp : ReadRegister(r, size));
            if (_faulted)
            {
                return;
            }
        }

        SetStackPointer(sp);
    }

    private void ExecutePopa(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        Span<ulong> values = stackalloc ulong[8];
        for (int r = 7; r >= 0; r--)
        {
            values[r] = ReadMem(Ss, sp, size);
            if (_faulted)
            {
                return;
            }

            sp = (sp + (uint)size) & mask;
        }

        for (int r = 0; r < 8; r++)
        {
            if (r != RegSp)
            {
                WriteRegister(r, size, values[r]);
            }
        }

        SetStackPointer(sp);
    }

    private void ExecutePopf(ref DecodedInstruction d)
    {
        if (InVirtual8086)
        {
            PopfVirtual8086(ref d);
            return;
        }

        int size = d.OpSize;
        ulong value = Pop(size);
        if (_faulted)
        {
            return;
        }

        uint current = GetFlags();

        // Real mode: every flag in the operand is writable except VM and RF (kept), and VIP/VIF (kept) (Intel SDM Vol. 2B, POPF).
        uint writable = (size >= 4 ? EflagsBits.Popf32Writable : EflagsBits.Defined16) & PopfPrivilegeMask();
        SetFlagsRaw((current & ~writable) | ((uint)value & writable));
        _exitBlock = true;
    }

    private void ExecuteLoadFarPointer(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong ea = EffectiveAddress(ref d);
        ulong offset = ReadMem(d.Seg, ea, size);
        ulong selectorOffset = ea + (uint)size;
        if (d.AddrSize == 2)
        {
            selectorOffset &= 0xFFFF;
        }

        ulong selector = ReadMem(d.Seg, selectorOffset, 2);
        if (_faulted)
        {
            return;
        }

        if (!LoadSegment(d.Reg2, (ushort)selector))
        {
            return;
        }

        WriteRegister(d.Reg0, size, offset);
    }

    /// <summary>ENTER with every nesting level, following the pseudo-code of Intel SDM Vol. 2A, ENTER.</summary>
    private void ExecuteEnter(ref DecodedInstruction d)
    {
        if (_ctx.Code64)
        {
            ExecuteEnter64(ref d);
            return;
        }

        int size = d.OpSize;
        uint allocSize = (uint)d.Imm & 0xFFFF;
        int level = (int)(d.Imm2 & 0x1F);
        uint mask = StackMask;
        uint sp = StackPointer;
        uint bp = _ctx.Stack32 ? (uint)_ctx.Gpr[RegBp] : (ushort)_ctx.Gpr[RegBp];
        sp = (sp - (uint)size) & mask;
        WriteMem(Ss, sp, size, ReadRegister(RegBp, size));
        if (_faulted)
        {
            return;
        }

        // FrameTemp is the whole ESP after the push: on a 16-bit stack o32 ENTER moves SP only, so EBP and the pushed
        // frame pointer keep ESP[31:16] (Intel SDM Vol. 2A, ENTER, "EBP <- FrameTemp" with a 32-bit operand size).
        uint frameTemp = _ctx.Stack32 || size == 2 ? sp : ((uint)_ctx.Gpr[RegSp] & ~0xFFFFu) | sp;
        if (level > 0)
        {
            for (int i = 1; i < level; i++)
            {
                bp = (bp - (uint)size) & mask;
                ulong value = ReadMem(Ss, bp, size);
                sp = (sp - (uint)size) & mask;
                WriteMem(Ss, sp, size, value);
                if (_faulted)
                {
                    return;
                }
            }

            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, frameTemp);
            if (_faulted)
            {
                return;
            }
        }

        sp = (sp - allocSize) & mask;

        // #SS or #PF when a write at the final stack pointer would fault (Intel SDM Vol. 2A, ENTER, Protected Mode
        // Exceptions): the location is checked, not written, and nothing is committed on a fault.
        if (!ProbeStackWrite(sp, size))
        {
            return;
        }

        WriteRegister(RegBp, size, frameTemp);
        SetStackPointer(sp);
    }

    /// <summary>
    /// Checks that a write of <paramref name="size"/> bytes at SS:<paramref name="offset"/> would pass the segment and page
    /// checks, without writing; false with the pending #SS or #PF.
    /// </summary>
    private bool ProbeStackWrite(uint offset, int size)
    {
        if (!CheckWriteLimit(Ss, offset, size))
        {
            return false;
        }

        ulong first = (uint)(_ctx.SegBase[Ss] + offset);
        ulong last = (uint)(first + (uint)size - 1);
        return TranslateData(first, write: true, out _) && ((last >> PageShift) == (first >> PageShift) || TranslateData(last, write: true, out _));
    }

    private void ExecuteLeave(ref DecodedInstruction d)
    {
        if (_ctx.Code64)
        {
            ExecuteLeave64(ref d);
            return;
        }

        int size = d.OpSize;
        uint bp = _ctx.Stack32 ? (uint)_ctx.Gpr[RegBp] : (ushort)_ctx.Gpr[RegBp];

        // Intel SDM Vol. 2A, LEAVE, real-address mode exceptions: #GP (not #SS) when (E)BP points outside 0-FFFFh.
        if ((ulong)bp + (uint)(size - 1) > _ctx.SegLimit[Ss])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        ulong value = ReadMem(Ss, bp, size);
        if (_faulted)
        {
            return;
        }

        SetStackPointer((bp + (uint)size) & StackMask);
        WriteRegister(RegBp, size, value);
    }

    private void ExecuteBound(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong ea = EffectiveAddress(ref d);
        ulong upperOffset = ea + (uint)size;
        if (d.AddrSize == 2)
        {
            upperOffset &= 0xFFFF;
        }

        long lower = SignExtend(ReadMem(d.Seg, ea, size), size);
        long upper = SignExtend(ReadMem(d.Seg, upperOffset, size), size);
        if (_faulted)
        {
            return;
        }

        long index = SignExtend(ReadRegister(d.Reg0, size), size);
        if (index < lower || index > upper)
        {
            RaiseFault(VectorBound);
        }
    }

    private void ExecuteXadd(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong dst = ReadDestination(ref d, size, out ulong ea);
        if (_faulted)
        {
            return;
        }

        ulong src = ReadRegister(d.Reg1, size);
        ulong res = dst + src;
        WriteDestination(ref d, size, ea, res);
        if (_faulted)
        {
            return;
        }

        if (d.Kind0 != OperandKind.Register || d.Reg0 != d.Reg1)
        {
            WriteRegister(d.Reg1, size, dst);
        }

        SetLazy(LazyOp.Add, dst, src, res, size);
    }

    private void ExecuteCmpxchg(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong dst = ReadDestination(ref d, size, out ulong ea);
        if (_faulted)
        {
            return;
        }

        ulong accumulator = ReadRegister(RegAx, size);
        SetLazy(LazyOp.Sub, accumulator, dst, accumulator - dst, size);
        if (accumulator == dst)
        {
            WriteDestination(ref d, size, ea, ReadRegister(d.Reg1, size));
        }
        else
        {
            // The destination is written back with its own value (Intel SDM Vol. 2A, CMPXCHG).
            WriteDestination(ref d, size, ea, dst);
            if (!_faulted)
            {
                WriteRegister(RegAx, size, dst);
            }
        }
    }

    private void ExecuteCmpxchg8b(ref DecodedInstruction d)
    {
        if (d.Kind0 != OperandKind.Memory)
        {
            RaiseFault(VectorInvalidOpcode);
            return;
        }

        ulong ea = EffectiveAddress(ref d);
        ulong value = ReadMem(d.Seg, ea, 8);
        if (_faulted)
        {
            return;
        }

        ulong expected = ((ulong)(uint)_ctx.Gpr[RegDx] << 32) | (uint)_ctx.Gpr[RegAx];
        bool equal = value == expected;
        if (equal)
        {
            WriteMem(d.Seg, ea, 8, ((ulong)(uint)_ctx.Gpr[RegCx] << 32) | (uint)_ctx.Gpr[RegBx]);
        }
        else
        {
            WriteMem(d.Seg, ea, 8, value);
            if (!_faulted)
            {
                WriteRegister(RegAx, 4, (uint)value);
                WriteRegister(RegDx, 4, value >> 32);
            }
        }

        if (!_faulted)
        {
            SetFlag(EflagsBits.Zf, equal);
        }
    }

    private void ExecuteCmov(ref DecodedInstruction d)
    {
        int size = d.OpSize;

        // The source is read (and may fault) whatever the condition (Intel SDM Vol. 2A, CMOVcc).
        ulong value = ReadOperand1(ref d, size);
        if (_faulted)
        {
            return;
        }

        if (Condition(d.Cond))
        {
            WriteRegister(d.Reg0, size, value);
        }
        else if (size == 4)
        {
            // A 32-bit CMOV writes its destination even when the condition fails: the upper half is cleared in 64-bit mode
            // (Intel SDM Vol. 2A, CMOVcc; outside it the upper half is undefined and we zero-extend as everywhere).
            Gpr(d.Reg0) = (uint)Gpr(d.Reg0);
        }
    }
}
