using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Interrupt and exception delivery in IA-32e mode through 16-byte IDT gates, with the 64-bit frame (SS:RSP always
/// pushed, RSP aligned to 16 bytes, the IST stacks of the 64-bit TSS), and IRET in IA-32e mode (Intel SDM Vol. 3A, 6.14;
/// Vol. 2A, IRET, "IA-32e-MODE").
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The size of an IDT gate in IA-32e mode (Intel SDM Vol. 3A, 6.14.1, Figure 6-8).</summary>
    private const int LongModeGateBytes = 16;

    /// <summary>The 64-bit interrupt-gate type (trap gate is 0Fh): the same numbers as the 32-bit gates.</summary>
    private const int InterruptGate64Type = 0x0E;

    /// <summary>The 64-bit trap-gate type.</summary>
    private const int TrapGate64Type = 0x0F;

    /// <summary>Bits 34:32 of the gate: the interrupt-stack-table index (0: no IST switch).</summary>
    private const int GateIstShift = 32;

    /// <summary>The IST index mask.</summary>
    private const int GateIstMask = 7;

    /// <summary>Offset of RSP0 in the 64-bit TSS (Intel SDM Vol. 3A, 8.7, Figure 8-11); RSP1 and RSP2 follow.</summary>
    private const uint Tss64Rsp0Offset = 4;

    /// <summary>Offset of IST1 in the 64-bit TSS; IST2-IST7 follow.</summary>
    private const uint Tss64Ist1Offset = 0x24;

    /// <summary>The new RSP of a 64-bit delivery is aligned down to 16 bytes (Intel SDM Vol. 3A, 6.14.2).</summary>
    private const ulong StackFrameAlignmentMask = ~0xFUL;

    /// <summary>The RFLAGS bits IRET may change at CPL 0 in IA-32e mode (VM stays 0: no virtual-8086 mode there).</summary>
    private const uint IretLongModeWritableAtCpl0 = 0x00254DD5u | 0x3000u | 0x00180000u;

    /// <summary>
    /// Delivery in IA-32e mode (Intel SDM Vol. 3A, 6.14): the gate must be a 64-bit interrupt or trap gate to a 64-bit code
    /// segment; the handler runs in 64-bit mode. Returns false with a pending fault.
    /// </summary>
    private bool TryDeliverLongMode(int vector, int errorCode, bool software, bool external)
    {
        int ext = external ? 1 : 0;
        int gateError = (vector * 8) + 2 + ext;
        uint entry = (uint)vector * LongModeGateBytes;
        if (entry + LongModeGateBytes - 1 > _ctx.IdtLimit)
        {
            RaiseFault(VectorGeneralProtection, gateError);
            return false;
        }

        ulong gate = ReadSystem(_ctx.IdtBase + entry, 8);
        ulong gateHigh = ReadSystem(_ctx.IdtBase + entry + 8, 8);
        if (_faulted)
        {
            return false;
        }

        int type = (int)(gate >> 40) & 0x1F;
        if (type is not (InterruptGate64Type or TrapGate64Type))
        {
            // Task gates and 16-bit gates do not exist in IA-32e mode.
            RaiseFault(VectorGeneralProtection, gateError);
            return false;
        }

        if (software && DescriptorDpl(gate) < _ctx.Cpl)
        {
            RaiseFault(VectorGeneralProtection, gateError);
            return false;
        }

        if ((gate & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, gateError);
            return false;
        }

        ushort selector = (ushort)(gate >> 16);
        ulong offset = (gate & 0xFFFF) | ((gate >> 32) & 0xFFFF_0000) | (gateHigh << 32);
        int ist = (int)(gate >> GateIstShift) & GateIstMask;
        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(VectorGeneralProtection, ext);
            return false;
        }

        if (!TryReadDescriptor(selector, out ulong descriptor, out ulong address))
        {
            RaiseFault(VectorGeneralProtection, (selector & 0xFFFC) + ext);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        int dpl = DescriptorDpl(descriptor);
        bool longCode = (attributes & SegmentState.LongModeBit) != 0 && (attributes & SegmentState.DefaultBigBit) == 0;
        if ((attributes & (AttrSegment | AttrCode)) != (AttrSegment | AttrCode) || dpl > _ctx.Cpl || !longCode)
        {
            RaiseFault(VectorGeneralProtection, (selector & 0xFFFC) + ext);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, (selector & 0xFFFC) + ext);
            return false;
        }

        if (!IsCanonical(offset))
        {
            RaiseFault(VectorGeneralProtection, ext);
            return false;
        }

        // The stack: an IST entry whenever the gate names one, else RSPn of the TSS on a privilege change, else the current
        // RSP; then aligned to 16 bytes (Intel SDM Vol. 3A, 6.14.2 and 6.14.5).
        int newCpl = (attributes & AttrConforming) == 0 && dpl < _ctx.Cpl ? dpl : _ctx.Cpl;
        ulong rsp = _ctx.Gpr[RegSp];
        if (ist != 0 || newCpl != _ctx.Cpl)
        {
            uint tssOffset = ist != 0 ? Tss64Ist1Offset + ((uint)(ist - 1) * 8) : Tss64Rsp0Offset + ((uint)newCpl * 8);
            if (tssOffset + 7 > _ctx.TrLimit)
            {
                RaiseFault(VectorInvalidTss, (_ctx.TrSelector & 0xFFFC) + ext);
                return false;
            }

            rsp = ReadSystem(_ctx.TrBase + tssOffset, 8);
            if (_faulted)
            {
                return false;
            }
        }

        rsp &= StackFrameAlignmentMask;
        ulong oldRsp = _ctx.Gpr[RegSp];
        ushort oldSs = _ctx.SegSelector[Ss];
        ulong flags = GetFlags();
        ulong oldCs = _ctx.SegSelector[Cs];
        ulong oldRip = _ctx.Rip;
        Span<ulong> frame = [oldSs, oldRsp, flags, oldCs, oldRip, (ulong)(uint)errorCode];
        int count = errorCode >= 0 ? frame.Length : frame.Length - 1;
        if (!IsCanonical(rsp) || !IsCanonical(rsp - ((ulong)count * 8)))
        {
            RaiseFault(VectorStackFault, 0);
            return false;
        }

        // The pushes are supervisor accesses when the handler runs at CPL 0-2 (Intel SDM Vol. 3A, 4.6).
        bool savedSupervisor = _mmu.SupervisorAccess;
        _mmu.SupervisorAccess = newCpl < 3;
        for (int i = 0; i < count; i++)
        {
            rsp -= 8;
            WriteLinear(rsp, 8, frame[i]);
            if (_faulted)
            {
                _mmu.SupervisorAccess = savedSupervisor;
                return false;
            }
        }

        _mmu.SupervisorAccess = savedSupervisor;
        if (newCpl != _ctx.Cpl)
        {
            // SS becomes the null selector with RPL = the new CPL (Intel SDM Vol. 3A, 6.14.4); in 64-bit mode it still works.
            LoadNullStackSegment64(newCpl);
        }

        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, newCpl);
        _ctx.Gpr[RegSp] = rsp;
        _ctx.Rip = offset;

        // TF, NT, RF and VM are cleared; an interrupt gate also clears IF (Intel SDM Vol. 3A, 6.12.1.3 and 6.14).
        _ctx.Eflags &= ~(EflagsBits.Tf | EflagsBits.Nt | EflagsBits.Rf | EflagsBits.Vm);
        if (type == InterruptGate64Type)
        {
            _ctx.Eflags &= ~EflagsBits.If;
        }

        return true;
    }

    /// <summary>
    /// Loads SS with the null selector of a privilege level, as 64-bit interrupt delivery and far calls to an inner level do:
    /// usable in 64-bit mode (which does not check SS), a flat writable data cache with DPL = RPL.
    /// </summary>
    private void LoadNullStackSegment64(int cpl)
    {
        _ctx.SegSelector[Ss] = (ushort)cpl;
        _ctx.SegBase[Ss] = 0;
        _ctx.SegLimit[Ss] = 0xFFFF_FFFF;
        _ctx.SegAttributes[Ss] = (ushort)(FlatStackAttributes | (cpl << AttributeDplShift));
        RefreshAccessBounds(Ss);
        UpdateModeBits();
    }

    /// <summary>
    /// IRET in IA-32e mode (Intel SDM Vol. 2A, IRET, "IA-32e-MODE" and "RETURN-TO-SAME/OUTER-PRIVILEGE-LEVEL"): in 64-bit
    /// mode it always pops RIP, CS, RFLAGS, RSP and SS (IRETQ 8 bytes each, IRETD 4, 16-bit IRET 2), and returns to 64-bit
    /// or compatibility mode by the L bit of the new CS. NT set is #GP(0): no task switches in IA-32e mode.
    /// </summary>
    private void IretLongMode(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        if ((_ctx.Eflags & EflagsBits.Nt) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        bool from64 = _ctx.Code64;
        ulong sp = from64 ? _ctx.Gpr[RegSp] : StackPointer;
        ulong mask = from64 ? ulong.MaxValue : StackMask;
        ulong offset = ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, 2);
        uint flags = (uint)ReadMem(Ss, (sp + (uint)(2 * size)) & mask, size);
        if (_faulted)
        {
            return;
        }

        if (!CheckReturnCode(selector, out ulong descriptor, out ulong address))
        {
            return;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        bool toLong = (attributes & SegmentState.LongModeBit) != 0;
        int rpl = selector & 3;
        if (toLong ? !IsCanonical(offset) : offset > SegmentState.FromDescriptor(selector, descriptor).Limit)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        // Same RFLAGS rules as protected mode: IOPL only at CPL 0, IF when CPL <= IOPL, VIF/VIP at CPL 0; VM never.
        int oldCpl = _ctx.Cpl;
        uint writable = 0x00254DD5u;
        int iopl = (int)(_ctx.Eflags >> EflagsBits.IoplShift) & 3;
        if (oldCpl == 0)
        {
            writable = IretLongModeWritableAtCpl0;
        }

        if (oldCpl <= iopl)
        {
            writable |= EflagsBits.If;
        }

        if (size == 2)
        {
            writable &= 0xFFFF;
        }

        // From 64-bit mode SS:RSP are always popped; from compatibility mode only on a return to an outer level.
        bool popStack = from64 || rpl > oldCpl;
        if (popStack)
        {
            ulong newRsp = ReadMem(Ss, (sp + (uint)(3 * size)) & mask, size);
            ushort newSs = (ushort)ReadMem(Ss, (sp + (uint)(4 * size)) & mask, 2);
            if (_faulted)
            {
                return;
            }

            // A null SS is allowed when returning to 64-bit mode at CPL 0-2 (Intel SDM Vol. 2A, IRET, IA-32e mode).
            if ((newSs & 0xFFFC) == 0 && toLong && rpl < 3)
            {
                if ((newSs & 3) != rpl)
                {
                    RaiseFault(VectorGeneralProtection, 0);
                    return;
                }

                LoadNullStackSegment64(rpl);
            }
            else
            {
                if (!CheckStackForLevel(newSs, rpl, VectorGeneralProtection, ext: 0, out ulong ssDescriptor, out ulong ssAddress))
                {
                    return;
                }

                LoadStackSegmentCache(newSs, ssDescriptor, ssAddress);
            }

            SetAccessed(address, ref descriptor);
            LoadCodeSegment(selector, descriptor, rpl);
            _ctx.Gpr[RegSp] = toLong ? newRsp : size == 2 ? (_ctx.Gpr[RegSp] & ~0xFFFFUL) | (ushort)newRsp : (uint)newRsp;
            if (rpl > oldCpl)
            {
                NullDataSegmentsForLevel(rpl);
            }
        }
        else
        {
            SetStackPointer((uint)((sp + (uint)(3 * size)) & mask));
            SetAccessed(address, ref descriptor);
            LoadCodeSegment(selector, descriptor, oldCpl);
        }

        _ctx.Rip = toLong ? offset : size == 2 ? (ushort)offset : (uint)offset;
        uint current = GetFlags();
        SetFlagsRaw((current & ~writable) | (flags & writable));
        _nmiBlocked = false;
    }
}
