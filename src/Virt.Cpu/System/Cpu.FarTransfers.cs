using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Protected-mode far transfers: far JMP/CALL to code segments and through call gates (with the TSS stack
/// switch and parameter copying), far RET and IRET to the same or an outer level (Intel SDM Vol. 3A, 5.8; Vol. 2 JMP,
/// CALL, RET, IRET).
/// </summary>
public sealed partial class Cpu
{
    /// <summary>
    /// Checks a code-segment descriptor named directly by a far JMP or CALL or (<paramref name="viaGate"/>) as the
    /// target of a call gate (Intel SDM Vol. 3A, 5.8.1, 5.8.4). Gives the CPL after the transfer. Returns false with a
    /// pending fault.
    /// </summary>
    private bool CheckCodeDescriptor(ushort selector, ulong descriptor, bool viaGate, bool call, out int newCpl)
    {
        newCpl = _ctx.Cpl;
        int errorCode = selector & 0xFFFC;
        ushort attributes = DescriptorAttributes(descriptor);
        if ((attributes & (AttrSegment | AttrCode)) != (AttrSegment | AttrCode))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        // In IA-32e mode a code descriptor with both L and D set is reserved (Intel SDM Vol. 2A, CALL and JMP:
        // "IF L-bit = 1 and D-bit = 1 and IA32_EFER.LMA = 1 THEN #GP(new code segment selector)").
        const ushort longAndDefault = SegmentState.LongModeBit | SegmentState.DefaultBigBit;
        if (IsLongModeActive && (attributes & longAndDefault) == longAndDefault)
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        int dpl = DescriptorDpl(descriptor);
        int rpl = selector & 3;
        if ((attributes & AttrConforming) != 0)
        {
            if (dpl > _ctx.Cpl)
            {
                RaiseFault(VectorGeneralProtection, errorCode);
                return false;
            }
        }
        else if (viaGate)
        {
            // Through a call gate: DPL <= CPL; CALL may go to a more privileged non-conforming segment, JMP may not.
            if (dpl > _ctx.Cpl || (!call && dpl != _ctx.Cpl))
            {
                RaiseFault(VectorGeneralProtection, errorCode);
                return false;
            }

            newCpl = dpl;
        }
        else if (dpl != _ctx.Cpl || rpl > _ctx.Cpl)
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return false;
        }

        return true;
    }

    /// <summary>Reads and checks the destination of a far JMP or CALL; resolves a call gate to its target.</summary>
    private bool ResolveFarTarget(ref ushort selector, ref ulong offset, bool call, out ulong descriptor, out ulong address, out int newCpl, out ulong gate)
    {
        newCpl = _ctx.Cpl;
        gate = 0;
        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            descriptor = 0;
            address = 0;
            return false;
        }

        if (!TryReadDescriptor(selector, out descriptor, out address))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return false;
        }

        if ((descriptor & (1UL << 44)) != 0)
        {
            return CheckCodeDescriptor(selector, descriptor, viaGate: false, call, out newCpl);
        }

        if (IsLongModeActive)
        {
            // IA-32e mode: only 64-bit call gates; no task switches (Cpu.FarTransfers64.cs).
            return ResolveLongModeCallGate(ref selector, ref offset, call, ref descriptor, ref address, out newCpl, out gate);
        }

        int type = (int)(descriptor >> 40) & 0xF;
        if (type is 1 or 3 or 5 or 9 or 11)
        {
            // A TSS descriptor or task gate: a hardware task switch (Cpu.TaskSwitch.cs). It is complete (or has left a
            // pending fault) on return, so the caller has nothing left to do.
            FarTaskSwitch(selector, descriptor, call);
            return false;
        }

        if (type is not (4 or 12))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return false;
        }

        // Call gate (Intel SDM Vol. 3A, 5.8.4): gate DPL >= CPL and >= RPL; present; then the target code segment.
        int gateDpl = DescriptorDpl(descriptor);
        if (gateDpl < _ctx.Cpl || gateDpl < (selector & 3))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return false;
        }

        if ((descriptor & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, selector & 0xFFFC);
            return false;
        }

        gate = descriptor;
        ushort target = (ushort)(descriptor >> 16);
        offset = (uint)(descriptor & 0xFFFF);
        if (type == 12)
        {
            offset |= (uint)(descriptor >> 32) & 0xFFFF0000;
        }

        if ((target & 0xFFFC) == 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        selector = target;
        if (!TryReadDescriptor(selector, out descriptor, out address))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return false;
        }

        return CheckCodeDescriptor(selector, descriptor, viaGate: true, call, out newCpl);
    }

    /// <summary>
    /// Whether a far JMP/CALL target offset is out of range for the new code segment: beyond its limit, or, when IA-32e
    /// mode is active and the target is a 64-bit code segment (L=1), non-canonical instead. A 64-bit code segment has
    /// no limit (Intel SDM Vol. 3A, 5.3.1 and 3.4.5: limits are not checked in 64-bit mode); memtest86+ jumps from
    /// compatibility mode through a descriptor whose limit is 0.
    /// </summary>
    private bool FarOffsetOutOfRange(ushort selector, ulong descriptor, ulong offset)
    {
        if (IsLongModeActive && (DescriptorAttributes(descriptor) & SegmentState.LongModeBit) != 0)
        {
            return !IsCanonical(offset);
        }

        return offset > SegmentState.FromDescriptor(selector, descriptor).Limit;
    }

    private void JumpFarProtected(ushort selector, ulong offset, int opSize)
    {
        offset = FarOperandOffset(offset, opSize);

        if (!ResolveFarTarget(ref selector, ref offset, call: false, out ulong descriptor, out ulong address, out _, out _))
        {
            return;
        }

        if (FarOffsetOutOfRange(selector, descriptor, offset))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, _ctx.Cpl);
        _ctx.Rip = offset;
    }

    private void CallFarProtected(ushort selector, ulong offset, int opSize)
    {
        offset = FarOperandOffset(offset, opSize);

        if (!ResolveFarTarget(ref selector, ref offset, call: true, out ulong descriptor, out ulong address, out int newCpl, out ulong gate))
        {
            return;
        }

        if (FarOffsetOutOfRange(selector, descriptor, offset))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        if (gate != 0 && IsLongModeActive)
        {
            CallGate64(selector, descriptor, address, offset, newCpl);
            return;
        }

        if (gate != 0)
        {
            // Through a gate the pushes take the gate's size (Intel SDM Vol. 3A, 5.8.5).
            opSize = ((gate >> 40) & 0xF) == 12 ? 4 : 2;
        }

        if (newCpl < _ctx.Cpl)
        {
            CallGateInner(selector, descriptor, address, (uint)offset, newCpl, gate, opSize);
            return;
        }

        if (_ctx.Code64)
        {
            CallFarSamePrivilege64(selector, descriptor, address, offset, opSize);
            return;
        }

        uint sp2 = PushReturnAddress(StackPointer, StackMask, opSize);
        if (_faulted)
        {
            return;
        }

        SetStackPointer(sp2);
        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, _ctx.Cpl);
        _ctx.Rip = offset;
    }

    /// <summary>
    /// A call gate to a more privileged level (Intel SDM Vol. 3A, 5.8.5, Figure 5-13): switch to the stack for the new level
    /// from the TSS, push the old SS:ESP, copy the gate's parameter count of words or dwords, push the return CS:EIP.
    /// </summary>
    private void CallGateInner(ushort selector, ulong descriptor, ulong address, uint offset, int newCpl, ulong gate, int size)
    {
        if (!ReadInnerStack(newCpl, ext: 0, out ushort newSs, out uint newEsp, out ulong ssDescriptor, out ulong ssAddress))
        {
            return;
        }

        int parameters = (int)(gate >> 32) & 0x1F;
        ushort oldSs = _ctx.SegSelector[Ss];
        uint oldEsp = StackPointer;
        uint oldMask = StackMask;
        SegmentSnapshot saved = SaveSegment(Ss);
        Span<uint> copied = stackalloc uint[32];
        for (int i = 0; i < parameters; i++)
        {
            copied[i] = (uint)ReadMem(Ss, (oldEsp + (uint)(i * size)) & oldMask, size);
        }

        if (_faulted)
        {
            return;
        }

        _mmu.SupervisorAccess = true;
        LoadStackSegmentCache(newSs, ssDescriptor, ssAddress);
        uint sp = newEsp;
        uint mask = StackMask;
        sp = (sp - (uint)size) & mask;
        WriteMem(Ss, sp, size, oldSs);
        sp = (sp - (uint)size) & mask;
        WriteMem(Ss, sp, size, oldEsp);
        for (int i = parameters - 1; i >= 0 && !_faulted; i--)
        {
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, copied[i]);
        }

        sp = PushReturnAddress(sp, mask, size);
        _mmu.SupervisorAccess = false;
        if (_faulted)
        {
            RestoreSegment(Ss, saved);
            return;
        }

        SetStackPointer(sp);
        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, newCpl);
        _ctx.Rip = offset;
    }

    /// <summary>
    /// Reads SSn:ESPn for privilege level <paramref name="level"/> from the current TSS and checks the stack segment
    /// (Intel SDM Vol. 3A, 6.12.1 and 5.8.5: #TS for a bad TSS or SS, #SS for a not-present SS).
    /// </summary>
    private bool ReadInnerStack(int level, int ext, out ushort ss, out uint esp, out ulong ssDescriptor, out ulong ssAddress)
    {
        ss = 0;
        esp = 0;
        ssDescriptor = 0;
        ssAddress = 0;
        bool tss32 = (_ctx.TrAttributes & 0x8) != 0;
        uint position = tss32 ? (uint)((level * 8) + 4) : (uint)((level * 4) + 2);
        uint last = position + (tss32 ? 7u : 3u);
        if (_ctx.TrSelector == 0 || last > _ctx.TrLimit)
        {
            RaiseFault(VectorInvalidTss, (_ctx.TrSelector & 0xFFFC) + ext);
            return false;
        }

        if (tss32)
        {
            esp = (uint)ReadSystem(_ctx.TrBase + position, 4);
            ss = (ushort)ReadSystem(_ctx.TrBase + position + 4, 2);
        }
        else
        {
            esp = (ushort)ReadSystem(_ctx.TrBase + position, 2);
            ss = (ushort)ReadSystem(_ctx.TrBase + position + 2, 2);
        }

        return CheckStackForLevel(ss, level, VectorInvalidTss, ext, out ssDescriptor, out ssAddress);
    }

    /// <summary>
    /// The checks on a stack segment a privilege change switches to: not null, RPL = <paramref name="level"/>, in its table,
    /// a writable data segment with DPL = <paramref name="level"/> (else <paramref name="vector"/>: #TS for the stack read from
    /// the TSS, #GP for the one a return pops), and present (else #SS). Intel SDM Vol. 2A, CALL and IRET; Vol. 2B, RET.
    /// </summary>
    private bool CheckStackForLevel(ushort ss, int level, int vector, int ext, out ulong descriptor, out ulong address)
    {
        descriptor = 0;
        address = 0;
        int errorCode = (ss & 0xFFFC) + ext;
        if ((ss & 0xFFFC) == 0)
        {
            RaiseFault(vector, ext);
            return false;
        }

        if ((ss & 3) != level || !TryReadDescriptor(ss, out descriptor, out address))
        {
            RaiseFault(vector, errorCode);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        if (DescriptorDpl(descriptor) != level || (attributes & (AttrSegment | AttrCode | AttrWritable)) != (AttrSegment | AttrWritable))
        {
            RaiseFault(vector, errorCode);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorStackFault, errorCode);
            return false;
        }

        return true;
    }

    private readonly record struct SegmentSnapshot(ushort Selector, ulong Base, uint Limit, ushort Attributes);

    private SegmentSnapshot SaveSegment(int segment) => new(_ctx.SegSelector[segment], _ctx.SegBase[segment], _ctx.SegLimit[segment], _ctx.SegAttributes[segment]);

    private void RestoreSegment(int segment, SegmentSnapshot snapshot)
    {
        _ctx.SegSelector[segment] = snapshot.Selector;
        _ctx.SegBase[segment] = snapshot.Base;
        _ctx.SegLimit[segment] = snapshot.Limit;
        _ctx.SegAttributes[segment] = snapshot.Attributes;
        RefreshAccessBounds(segment);
        UpdateModeBits();
    }

    private void LoadStackSegmentCache(ushort selector, ulong descriptor, ulong address)
    {
        SetAccessed(address, ref descriptor);
        SegmentState state = SegmentState.FromDescriptor(selector, descriptor);
        _ctx.SegSelector[Ss] = selector;
        _ctx.SegBase[Ss] = state.Base;
        _ctx.SegLimit[Ss] = state.Limit;
        _ctx.SegAttributes[Ss] = state.Attributes;
        RefreshAccessBounds(Ss);
        UpdateModeBits();
    }

    /// <summary>Far RET in protected mode (Intel SDM Vol. 2B, RET: same privilege level and outer privilege level).</summary>
    private void RetFarProtected(ref DecodedInstruction d)
    {
        if (_ctx.Code64)
        {
            RetFar64(ref d);
            return;
        }

        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, 2);
        if (_faulted)
        {
            return;
        }

        if (!CheckReturnCode(selector, out ulong descriptor, out ulong address))
        {
            return;
        }

        if (offset > SegmentState.FromDescriptor(selector, descriptor).Limit)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        uint release = d.Kind0 == OperandKind.Immediate ? (uint)d.Imm : 0;
        int rpl = selector & 3;
        if (rpl > _ctx.Cpl)
        {
            uint stackImage = (sp + (uint)(2 * size) + release) & mask;
            uint newEsp = (uint)ReadMem(Ss, stackImage, size);
            ushort newSs = (ushort)ReadMem(Ss, (stackImage + (uint)size) & mask, 2);
            if (_faulted || !ReturnToOuterLevel(selector, descriptor, address, offset, newSs, newEsp, size))
            {
                return;
            }

            SetStackPointer((StackPointer + release) & StackMask);
            return;
        }

        SetStackPointer((sp + (uint)(2 * size) + release) & mask);
        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, _ctx.Cpl);
        _ctx.Rip = offset;
    }

    /// <summary>
    /// Far RET in 64-bit mode (Intel SDM Vol. 2B, RET, "IA-32e mode"): the stack is addressed with all of RSP; RETF pops a
    /// 4-byte offset and CS slot by default, 8-byte ones with REX.W (RETFQ, which Linux uses to reload CS) and 2-byte ones
    /// with 66h. A return to 64-bit code checks that RIP is canonical, one to compatibility mode checks the CS limit. To an
    /// outer level it also pops RSP and SS, where a null SS is allowed for 64-bit code at CPL 0-2, and nulls the data
    /// segments the new level may not use.
    /// </summary>
    private void RetFar64(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        ulong sp = _ctx.Gpr[RegSp];
        ulong offset = ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, sp + (uint)size, 2);
        if (_faulted)
        {
            return;
        }

        if (!CheckReturnCode(selector, out ulong descriptor, out ulong address))
        {
            return;
        }

        bool toLong = (DescriptorAttributes(descriptor) & SegmentState.LongModeBit) != 0;
        if (toLong ? !IsCanonical(offset) : offset > SegmentState.FromDescriptor(selector, descriptor).Limit)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        ulong release = d.Kind0 == OperandKind.Immediate ? d.Imm : 0;
        int rpl = selector & 3;
        if (rpl == _ctx.Cpl)
        {
            _ctx.Gpr[RegSp] = sp + (uint)(2 * size) + release;
            SetAccessed(address, ref descriptor);
            LoadCodeSegment(selector, descriptor, rpl);
            _ctx.Rip = offset;
            return;
        }

        ulong stackImage = sp + (uint)(2 * size) + release;
        ulong newRsp = ReadMem(Ss, stackImage, size);
        ushort newSs = (ushort)ReadMem(Ss, stackImage + (uint)size, 2);
        if (_faulted)
        {
            return;
        }

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
        _ctx.Rip = offset;
        _ctx.Gpr[RegSp] = (toLong ? newRsp : size == 2 ? (ushort)newRsp : (uint)newRsp) + release;
        NullDataSegmentsForLevel(rpl);
    }

    /// <summary>The checks on the return CS of RETF and IRET: RPL &gt;= CPL; DPL by conforming or not; present.</summary>
    private bool CheckReturnCode(ushort selector, out ulong descriptor, out ulong address)
    {
        int errorCode = selector & 0xFFFC;
        if (errorCode == 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            descriptor = 0;
            address = 0;
            return false;
        }

        if (!TryReadDescriptor(selector, out descriptor, out address))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        int rpl = selector & 3;
        int dpl = DescriptorDpl(descriptor);
        bool conforming = (attributes & AttrConforming) != 0;
        if ((attributes & (AttrSegment | AttrCode)) != (AttrSegment | AttrCode) || rpl < _ctx.Cpl
            || (conforming ? dpl > rpl : dpl != rpl))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return false;
        }

        return true;
    }

    /// <summary>
    /// The return to an outer privilege level shared by RETF and IRET: check and load SS, load CS with CPL = RPL, load ESP,
    /// and null any of DS, ES, FS, GS the new level may not use (Intel SDM Vol. 2B, RET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL").
    /// </summary>
    private bool ReturnToOuterLevel(ushort selector, ulong descriptor, ulong address, uint offset, ushort newSs, uint newEsp, int size)
    {
        int rpl = selector & 3;
        if (!CheckStackForLevel(newSs, rpl, VectorGeneralProtection, ext: 0, out ulong ssDescriptor, out ulong ssAddress))
        {
            return false;
        }

        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, rpl);
        _ctx.Rip = offset;
        LoadStackSegmentCache(newSs, ssDescriptor, ssAddress);
        SetStackPointer(size == 2 ? (ushort)newEsp : newEsp);
        NullDataSegmentsForLevel(rpl);
        return true;
    }

    /// <summary>
    /// After a return to an outer level: nulls each of DS, ES, FS, GS that holds a data or non-conforming code segment whose
    /// DPL (from the descriptor cache) is below the new CPL (Intel SDM Vol. 2A, IRET, and Vol. 2B, RET,
    /// "RETURN-TO-OUTER-PRIVILEGE-LEVEL": "FOR each of segment register (ES, FS, GS, and DS) ... IF segment register points
    /// to data or non-conforming code segment and CPL &gt; segment descriptor DPL THEN SegmentSelector ← 0"). A segment
    /// register that is already null (no S bit in its cache) is left alone. The pseudo-code assigns only the selector; the
    /// register becomes unusable, so in legacy mode its base no longer matters and is cleared. In IA-32e mode the base is
    /// kept: in 64-bit mode FS and GS bases are used whatever the selector (Vol. 3A, 3.4.4: only segment loads, WRMSR of
    /// IA32_FS_BASE/IA32_GS_BASE, WRFSBASE/WRGSBASE and SWAPGS write them), and IRETQ to user code must not lose the base
    /// an operating system set for the thread.
    /// </summary>
    private void NullDataSegmentsForLevel(int rpl)
    {
        bool keepBase = IsLongModeActive;
        for (int s = 0; s < 6; s++)
        {
            if (s is Cs or Ss)
            {
                continue;
            }

            ushort attributes = _ctx.SegAttributes[s];
            bool descriptorSegment = (attributes & AttrSegment) != 0;
            bool conformingCode = (attributes & (AttrCode | AttrConforming)) == (AttrCode | AttrConforming);
            if (descriptorSegment && !conformingCode && DescriptorDplFromAttributes(attributes) < rpl)
            {
                _ctx.SegSelector[s] = 0;
                _ctx.SegAttributes[s] = 0;
                _ctx.SegLimit[s] = 0;
                if (!keepBase)
                {
                    _ctx.SegBase[s] = 0;
                }

                RefreshAccessBounds(s);
            }
        }
    }

    private static int DescriptorDplFromAttributes(ushort attributes) => (attributes >> 5) & 3;

    /// <summary>IRET in protected mode: same or outer privilege level (Intel SDM Vol. 2A, IRET, "PROTECTED-MODE-RETURN").</summary>
    private void IretProtected(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        if ((_ctx.Eflags & EflagsBits.Nt) != 0)
        {
            // Nested-task return: a task switch back to the previous task (Cpu.TaskSwitch.cs).
            TaskReturn();
            return;
        }

        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, 2);
        uint flags = (uint)ReadMem(Ss, (sp + (uint)(2 * size)) & mask, size);
        if (_faulted)
        {
            return;
        }

        if (size == 4 && (flags & EflagsBits.Vm) != 0 && _ctx.Cpl == 0)
        {
            IretToVirtual8086(sp, mask, offset, selector, flags);
            return;
        }

        if (!CheckReturnCode(selector, out ulong descriptor, out ulong address))
        {
            return;
        }

        if (offset > SegmentState.FromDescriptor(selector, descriptor).Limit)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        // Writable: CF PF AF ZF SF TF DF OF NT, RF, AC, ID; IOPL only at CPL 0; IF only when CPL <= IOPL; VIF/VIP at CPL 0.
        int oldCpl = _ctx.Cpl;
        uint writable = 0x00254DD5u;
        int iopl = (int)(_ctx.Eflags >> EflagsBits.IoplShift) & 3;
        if (oldCpl == 0)
        {
            writable |= 0x3000u | 0x00180000u;
        }

        if (oldCpl <= iopl)
        {
            writable |= EflagsBits.If;
        }

        if (size == 2)
        {
            writable &= 0xFFFF;
        }

        if ((selector & 3) > _ctx.Cpl)
        {
            uint newEsp = (uint)ReadMem(Ss, (sp + (uint)(3 * size)) & mask, size);
            ushort newSs = (ushort)ReadMem(Ss, (sp + (uint)(4 * size)) & mask, 2);
            if (_faulted || !ReturnToOuterLevel(selector, descriptor, address, offset, newSs, newEsp, size))
            {
                return;
            }
        }
        else
        {
            SetStackPointer((sp + (uint)(3 * size)) & mask);
            SetAccessed(address, ref descriptor);
            LoadCodeSegment(selector, descriptor, _ctx.Cpl);
            _ctx.Rip = offset;
        }

        uint current = GetFlags();
        SetFlagsRaw((current & ~writable) | (flags & writable));
        _nmiBlocked = false;
    }

}
