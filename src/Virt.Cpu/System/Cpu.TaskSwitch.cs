namespace Virt.Cpu;

/// <summary>
/// Hardware task switching (Intel SDM Vol. 3A, chapter 8 "Task Management"): far JMP and CALL to a TSS descriptor or a
/// task gate, interrupts and exceptions through an IDT task gate, and IRET with EFLAGS.NT = 1, for 32-bit (type 9/B) and
/// 16-bit (type 1/3) TSSs. The checks before the commit point fault in the old task; those after it (the new task's LDT
/// and segment registers) fault in the new task's context (Intel SDM Vol. 3A, 8.3, Table 8-1, 6.15 "Interrupt 10").
/// </summary>
public sealed partial class Cpu
{
    private const ulong DescriptorBusyBit = 2UL << 40;
    private const uint Dr6TaskSwitch = 0x8000;

    /// <summary>What started a task switch; it decides the busy bits, the back link and NT (Intel SDM Vol. 3A, 8.3, Table 8-2).</summary>
    private enum TaskSwitchSource
    {
        Jump,
        Call,
        Interrupt,
        Iret,
    }

    /// <summary>
    /// A far JMP or CALL whose selector names a TSS descriptor or a task gate (Intel SDM Vol. 2A, JMP and CALL,
    /// "TASK-GATE" and "TASK-STATE-SEGMENT"). Leaves a pending fault when refused or when the new task faults.
    /// </summary>
    private void FarTaskSwitch(ushort selector, ulong descriptor, bool call)
    {
        TaskSwitchSource source = call ? TaskSwitchSource.Call : TaskSwitchSource.Jump;
        int errorCode = selector & 0xFFFC;
        int type = (int)(descriptor >> 40) & 0x1F;
        int dpl = DescriptorDpl(descriptor);

        // Data-access rules: the gate's or TSS descriptor's DPL must be >= CPL and >= RPL (Intel SDM Vol. 3A, 8.3 step 2).
        if (dpl < _ctx.Cpl || dpl < (selector & 3))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return;
        }

        if (type == 5)
        {
            if ((descriptor & (1UL << 47)) == 0)
            {
                RaiseFault(VectorSegmentNotPresent, errorCode);
                return;
            }

            ushort tss = (ushort)(descriptor >> 16);
            if (LookUpTss(tss, ext: 0, busy: false, VectorGeneralProtection, out ulong tssDescriptor, out ulong tssAddress))
            {
                SwitchTask(tss, tssDescriptor, tssAddress, source, ext: 0, errorCodeToPush: -1);
            }

            return;
        }

        // A TSS descriptor named directly: it must sit in the GDT and be available (a busy TSS is #GP).
        if ((selector & 4) != 0 || type is not (1 or 9))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return;
        }

        if ((descriptor & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return;
        }

        ulong address = _ctx.GdtBase + (uint)(selector & 0xFFF8);
        SwitchTask(selector, descriptor, address, source, ext: 0, errorCodeToPush: -1);
    }

    /// <summary>
    /// Interrupt or exception delivery through an IDT task gate (Intel SDM Vol. 2A, INT n, "TASK-GATE"; Vol. 3A, 6.12.2):
    /// a nesting task switch, then the error code (if any) on the new task's stack. The gate's DPL and presence were
    /// checked by the caller. Returns false with a pending fault.
    /// </summary>
    private bool DeliverThroughTaskGate(ulong gate, int errorCode, int ext)
    {
        ushort tss = (ushort)(gate >> 16);
        if (!LookUpTss(tss, ext, busy: false, VectorGeneralProtection, out ulong descriptor, out ulong address))
        {
            return false;
        }

        return SwitchTask(tss, descriptor, address, TaskSwitchSource.Interrupt, ext, errorCode);
    }

    /// <summary>
    /// IRET with EFLAGS.NT = 1: return to the task named by the back link of the current TSS, which must be busy (Intel SDM
    /// Vol. 2A, IRET, "TASK-RETURN"; faults there are #TS, except a not-present TSS which is #NP).
    /// </summary>
    private void TaskReturn()
    {
        ushort link = (ushort)ReadSystem(_ctx.TrBase, 2);
        if (_faulted)
        {
            return;
        }

        if (LookUpTss(link, ext: 0, busy: true, VectorInvalidTss, out ulong descriptor, out ulong address))
        {
            SwitchTask(link, descriptor, address, TaskSwitchSource.Iret, ext: 0, errorCodeToPush: -1);
        }

        // IRET ends NMI blocking whatever path it takes (Intel SDM Vol. 3A, 6.7.1).
        _nmiBlocked = false;
    }

    /// <summary>
    /// Reads the TSS descriptor a task gate or back link names: it must be in the GDT and be a TSS, busy or available as
    /// asked (else <paramref name="typeVector"/>), and present (else #NP).
    /// </summary>
    private bool LookUpTss(ushort selector, int ext, bool busy, int typeVector, out ulong descriptor, out ulong address)
    {
        int errorCode = (selector & 0xFFFC) + ext;
        descriptor = 0;
        address = 0;
        if ((selector & 4) != 0 || !TryReadDescriptor(selector, out descriptor, out address))
        {
            RaiseFault(typeVector, errorCode);
            return false;
        }

        int type = (int)(descriptor >> 40) & 0x1F;
        bool typeOk = busy ? type is 3 or 11 : type is 1 or 9;
        if (!typeOk)
        {
            RaiseFault(typeVector, errorCode);
            return false;
        }

        if ((descriptor & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return false;
        }

        return true;
    }

    /// <summary>
    /// The task switch proper (Intel SDM Vol. 3A, 8.3, steps 3-10): check the new TSS limit, read the new task's state,
    /// save the old task's dynamic fields into its TSS, update the busy bits and back link, load TR (the commit point),
    /// then CR3, EFLAGS, EIP, the general registers, LDTR and the segment registers. Returns false with a pending fault.
    /// </summary>
    private bool SwitchTask(ushort selector, ulong descriptor, ulong address, TaskSwitchSource source, int ext, int errorCodeToPush)
    {
        bool newTss32 = (descriptor & (8UL << 40)) != 0;
        SegmentState newTss = SegmentState.FromDescriptor(selector, descriptor);

        // A 32-bit TSS spans at least 68h bytes and a 16-bit one 2Ch (Intel SDM Vol. 3A, 8.2.2, Table 6-6).
        if (newTss.Limit < (newTss32 ? 0x67u : 0x2Bu))
        {
            RaiseFault(VectorInvalidTss, (selector & 0xFFFC) + ext);
            return false;
        }

        // The old TSS must hold its dynamic fields (up to GS, or DS in a 16-bit TSS) for the save.
        bool oldTss32 = (_ctx.TrAttributes & 8) != 0;
        if (_ctx.TrLimit < (oldTss32 ? 0x5Fu : 0x29u))
        {
            RaiseFault(VectorInvalidTss, (_ctx.TrSelector & 0xFFFC) + ext);
            return false;
        }

        // Read the whole new state first, so that a page fault on the new TSS is taken in the old task (step 5).
        ulong b = newTss.Base;
        Span<uint> registers = stackalloc uint[8];
        Span<ushort> selectors = stackalloc ushort[6];
        uint cr3 = 0;
        uint eip;
        uint eflags;
        ushort ldt;
        bool debugTrap = false;
        if (newTss32)
        {
            cr3 = (uint)ReadSystem(b + 0x1C, 4);
            eip = (uint)ReadSystem(b + 0x20, 4);
            eflags = (uint)ReadSystem(b + 0x24, 4);
            for (int i = 0; i < 8; i++)
            {
                registers[i] = (uint)ReadSystem(b + 0x28 + (uint)(4 * i), 4);
            }

            for (int s = 0; s < 6; s++)
            {
                selectors[s] = (ushort)ReadSystem(b + 0x48 + (uint)(4 * s), 2);
            }

            ldt = (ushort)ReadSystem(b + 0x60, 2);
            debugTrap = (ReadSystem(b + 0x64, 2) & 1) != 0;
        }
        else
        {
            // A 16-bit TSS has no CR3, FS, GS, T bit or upper register halves (Intel SDM Vol. 3A, 8.6, Figure 8-10).
            eip = (uint)ReadSystem(b + 0x0E, 2);
            eflags = (uint)ReadSystem(b + 0x10, 2);
            for (int i = 0; i < 8; i++)
            {
                registers[i] = (uint)ReadSystem(b + 0x12 + (uint)(2 * i), 2);
            }

            for (int s = 0; s < 4; s++)
            {
                selectors[s] = (ushort)ReadSystem(b + 0x22 + (uint)(2 * s), 2);
            }

            ldt = (ushort)ReadSystem(b + 0x2A, 2);
        }

        if (_faulted)
        {
            return false;
        }

        // Step 6: save the old task's dynamic fields. CR3 and the LDT selector are static fields, never written back
        // (Intel SDM Vol. 3A, 8.2.1). An IRET clears NT in the saved image (Table 8-2).
        uint oldFlags = GetFlags();
        if (source == TaskSwitchSource.Iret)
        {
            oldFlags &= ~EflagsBits.Nt;
        }

        ulong ob = _ctx.TrBase;
        if (oldTss32)
        {
            WriteSystem(ob + 0x20, 4, _ctx.Rip);
            WriteSystem(ob + 0x24, 4, oldFlags);
            for (int i = 0; i < 8 && !_faulted; i++)
            {
                WriteSystem(ob + 0x28 + (uint)(4 * i), 4, (uint)_ctx.Gpr[i]);
            }

            for (int s = 0; s < 6 && !_faulted; s++)
            {
                WriteSystem(ob + 0x48 + (uint)(4 * s), 2, _ctx.SegSelector[s]);
            }
        }
        else
        {
            WriteSystem(ob + 0x0E, 2, (ushort)_ctx.Rip);
            WriteSystem(ob + 0x10, 2, (ushort)oldFlags);
            for (int i = 0; i < 8 && !_faulted; i++)
            {
                WriteSystem(ob + 0x12 + (uint)(2 * i), 2, (ushort)_ctx.Gpr[i]);
            }

            for (int s = 0; s < 4 && !_faulted; s++)
            {
                WriteSystem(ob + 0x22 + (uint)(2 * s), 2, _ctx.SegSelector[s]);
            }
        }

        if (_faulted)
        {
            return false;
        }

        // Busy bits and the back link (Intel SDM Vol. 3A, 8.3, Table 8-2; 8.4).
        if (source is TaskSwitchSource.Jump or TaskSwitchSource.Iret && (_ctx.TrSelector & 0xFFFC) != 0 && (_ctx.TrSelector & 4) == 0)
        {
            ulong oldAddress = _ctx.GdtBase + (uint)(_ctx.TrSelector & 0xFFF8);
            byte access = (byte)ReadSystem(oldAddress + 5, 1);
            WriteSystem(oldAddress + 5, 1, (byte)(access & ~2));
        }

        if (source is TaskSwitchSource.Call or TaskSwitchSource.Interrupt)
        {
            WriteSystem(b, 2, _ctx.TrSelector);
            eflags |= EflagsBits.Nt;
        }

        if (source != TaskSwitchSource.Iret)
        {
            descriptor |= DescriptorBusyBit;
            WriteSystem(address + 5, 1, (byte)(descriptor >> 40));
        }

        if (_faulted)
        {
            return false;
        }

        // Step 7, the commit point: TR names the new task. From here on faults belong to the new task.
        _ctx.TrSelector = selector;
        _ctx.TrBase = newTss.Base;
        _ctx.TrLimit = newTss.Limit;
        _ctx.TrAttributes = (ushort)(newTss.Attributes | 2);

        // CR0.TS is set on every task switch so the first x87 instruction of the new task raises #NM (Intel SDM Vol. 3A, 2.5).
        _ctx.Cr0 |= Cr0Bits.Ts;

        // DR7.L0-L3, the local breakpoint enables, are cleared on every task switch (Intel SDM Vol. 3B, 17.2.4).
        if ((_dr7 & 0x55) != 0)
        {
            _dr7 &= ~0x55u;
            RecomputeBreakpoints();
        }

        // Step 8: CR3 from a 32-bit TSS only, and only under paging (otherwise it is read but not loaded).
        if (newTss32 && _mmu.PagingEnabled)
        {
            _ctx.Cr3 = cr3;
            if (_mmu.IsPaeMode && !_mmu.LoadPdptes(cr3))
            {
                // PAE: the PDPTEs load with CR3; a reserved bit in a present one is #GP(0), here in the new task.
                RaiseFault(VectorGeneralProtection, 0);
            }

            _mmu.Flush();
        }

        _ctx.Rip = eip;
        SetFlagsRaw(eflags);
        for (int i = 0; i < 8; i++)
        {
            // Loading from a 16-bit TSS leaves the upper register halves undefined (Intel SDM Vol. 3A, 8.6); we zero them.
            _ctx.Gpr[i] = registers[i];
        }

        // A fault from here on is reported at the new task's first instruction, not at the JMP/CALL/IRET.
        _ctx.InstructionStart = eip;
        _exitBlock = true;
        bool loaded = LoadTaskSegments(selectors, ldt, ext, (eflags & EflagsBits.Vm) != 0 && newTss32);
        RefreshAllAccessBounds();
        UpdateModeBits();
        if (!loaded)
        {
            return false;
        }

        if (errorCodeToPush >= 0)
        {
            // An exception through a task gate pushes its error code on the new task's stack, sized by the TSS (6.12.2).
            int size = newTss32 ? 4 : 2;
            uint sp = (StackPointer - (uint)size) & StackMask;
            WriteMem(Ss, sp, size, (uint)errorCodeToPush);
            if (_faulted)
            {
                return false;
            }

            SetStackPointer(sp);
        }

        if (_ctx.Rip > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection, ext);
            return false;
        }

        if (debugTrap)
        {
            // The T bit: a debug trap once the switch completes, before the new task's first instruction, with DR6.BT
            // (Intel SDM Vol. 3B, 17.2.3 and 17.3.1.5). It is left pending, as a breakpoint hit, for the run loop to deliver
            // at this instruction boundary: delivering it from here would nest one delivery in another without bound for a
            // guest whose #DB goes through a task gate to a TSS with the T bit (the CPU never recurses, see NoRecursionTests).
            _debugTrapBits |= Dr6TaskSwitch;
            _debugSlowPath = true;
        }

        return true;
    }

    /// <summary>
    /// Loads LDTR and the segment registers of the new task after the commit point (Intel SDM Vol. 3A, 8.3 step 9, Table
    /// 8-1): all selectors first with unusable caches, then LDTR, SS, CS, ES, DS, FS and GS are qualified in turn; the first
    /// failure leaves a pending #TS, #SS or #NP and the remaining registers unusable. A virtual-8086 task loads them
    /// real-mode style at CPL 3.
    /// </summary>
    private bool LoadTaskSegments(ReadOnlySpan<ushort> selectors, ushort ldt, int ext, bool v86)
    {
        int newCpl = v86 ? 3 : selectors[Cs] & 3;
        for (int s = 0; s < 6; s++)
        {
            _ctx.SegSelector[s] = selectors[s];
            _ctx.SegBase[s] = 0;
            _ctx.SegLimit[s] = 0;
            _ctx.SegAttributes[s] = 0;
        }

        OnPrivilegeChange(newCpl);
        _ctx.Cpl = newCpl;
        _ctx.LdtSelector = 0;
        _ctx.LdtBase = 0;
        _ctx.LdtLimit = 0;
        if ((ldt & 0xFFFC) != 0)
        {
            // The LDT selector must name a present LDT descriptor in the GDT; anything else is #TS(LDT selector).
            if ((ldt & 4) != 0 || !TryReadDescriptor(ldt, out ulong ldtDescriptor, out _)
                || (ldtDescriptor & (0x1FUL << 40)) != (2UL << 40) || (ldtDescriptor & (1UL << 47)) == 0)
            {
                RaiseFault(VectorInvalidTss, (ldt & 0xFFFC) + ext);
                return false;
            }

            SegmentState table = SegmentState.FromDescriptor(ldt, ldtDescriptor);
            _ctx.LdtSelector = ldt;
            _ctx.LdtBase = table.Base;
            _ctx.LdtLimit = table.Limit;
        }

        if (v86)
        {
            LoadVirtual8086Segments(selectors);
            return true;
        }

        return LoadTaskStack(selectors[Ss], newCpl, ext)
            && LoadTaskCode(selectors[Cs], ext)
            && LoadTaskData(Es, selectors[Es], newCpl, ext)
            && LoadTaskData(Ds, selectors[Ds], newCpl, ext)
            && LoadTaskData(4, selectors[4], newCpl, ext)
            && LoadTaskData(5, selectors[5], newCpl, ext);
    }

    /// <summary>SS of the new task: a writable data segment with RPL = DPL = CPL (#TS), present (#SS).</summary>
    private bool LoadTaskStack(ushort selector, int cpl, int ext)
    {
        int errorCode = (selector & 0xFFFC) + ext;
        if ((selector & 0xFFFC) == 0 || !TryReadDescriptor(selector, out ulong descriptor, out ulong address))
        {
            RaiseFault(VectorInvalidTss, errorCode);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        if ((attributes & (AttrSegment | AttrCode | AttrWritable)) != (AttrSegment | AttrWritable)
            || DescriptorDpl(descriptor) != cpl || (selector & 3) != cpl)
        {
            RaiseFault(VectorInvalidTss, errorCode);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorStackFault, errorCode);
            return false;
        }

        LoadTaskSegmentCache(Ss, selector, descriptor, address);
        return true;
    }

    /// <summary>CS of the new task: a code segment whose DPL equals its RPL (non-conforming) or is at most its RPL (conforming) (#TS), present (#NP).</summary>
    private bool LoadTaskCode(ushort selector, int ext)
    {
        int errorCode = (selector & 0xFFFC) + ext;
        if ((selector & 0xFFFC) == 0 || !TryReadDescriptor(selector, out ulong descriptor, out ulong address))
        {
            RaiseFault(VectorInvalidTss, errorCode);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        int dpl = DescriptorDpl(descriptor);
        int rpl = selector & 3;
        bool conforming = (attributes & AttrConforming) != 0;
        if ((attributes & (AttrSegment | AttrCode)) != (AttrSegment | AttrCode) || (conforming ? dpl > rpl : dpl != rpl))
        {
            RaiseFault(VectorInvalidTss, errorCode);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return false;
        }

        LoadTaskSegmentCache(Cs, selector, descriptor, address);
        return true;
    }

    /// <summary>
    /// DS, ES, FS or GS of the new task: null is allowed (unusable); otherwise a data or readable code segment, with DPL
    /// &gt;= CPL and &gt;= RPL unless conforming code (#TS), present (#NP).
    /// </summary>
    private bool LoadTaskData(int segment, ushort selector, int cpl, int ext)
    {
        if ((selector & 0xFFFC) == 0)
        {
            return true;
        }

        int errorCode = (selector & 0xFFFC) + ext;
        if (!TryReadDescriptor(selector, out ulong descriptor, out ulong address))
        {
            RaiseFault(VectorInvalidTss, errorCode);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        bool code = (attributes & AttrCode) != 0;
        bool conformingCode = code && (attributes & AttrConforming) != 0;
        int dpl = DescriptorDpl(descriptor);
        if ((attributes & AttrSegment) == 0 || (code && (attributes & AttrWritable) == 0)
            || (!conformingCode && (dpl < cpl || dpl < (selector & 3))))
        {
            RaiseFault(VectorInvalidTss, errorCode);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return false;
        }

        LoadTaskSegmentCache(segment, selector, descriptor, address);
        return true;
    }

    private void LoadTaskSegmentCache(int segment, ushort selector, ulong descriptor, ulong address)
    {
        SetAccessed(address, ref descriptor);
        SegmentState state = SegmentState.FromDescriptor(selector, descriptor);
        _ctx.SegBase[segment] = state.Base;
        _ctx.SegLimit[segment] = state.Limit;
        _ctx.SegAttributes[segment] = state.Attributes;
    }
}
