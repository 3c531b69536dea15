namespace Virt.Cpu;

/// <summary>
/// Interrupt and exception delivery in every mode: the real-mode IVT, protected-mode dispatch through interrupt, trap and
/// task gates of the IDT, virtual-8086 redirection, the double-fault rules and the triple fault (Intel SDM Vol. 3A,
/// chapter 6; Vol. 3A, 20.1.4 for real mode).
/// </summary>
public sealed partial class Cpu
{
    private const int MaxNestedDeliveries = 4;

    /// <summary>INT n, INT3 and INTO: software interrupts, which check the gate DPL against CPL in protected mode.</summary>
    private void DeliverSoftwareInterrupt(int vector)
    {
        _softwareInterruptTaken = true;
        DeliverEvent(vector, isException: false, software: true);
    }

    /// <summary>
    /// Delivers an interrupt or exception. A fault while delivering is handled by Intel SDM Vol. 3A, 6.15, Table 6-5:
    /// contributory after contributory, or a page fault or contributory fault after a page fault, becomes #DF; any other
    /// combination delivers the second event; a fault while delivering #DF shuts the CPU down (triple fault).
    /// </summary>
    private void DeliverEvent(int vector, bool isException, bool software)
    {
        // The host's exception hook (Hooks/Cpu.HostHooks.cs) may redirect or suppress exceptions and software interrupts.
        if (ExceptionHook is { } hook && (isException || software) && !RunExceptionHook(hook, ref vector, ref isException, ref software))
        {
            return;
        }

        _faultFromRunLoop = false;
        if (isException)
        {
            LastExceptionVector = vector;
        }

        int errorCode = isException && HasErrorCode(vector) ? _faultErrorCode : -1;
        _faultErrorCode = 0;
        _halted = false;
        _exitBlock = true;
        _faulted = false;

        // CR2 as the event found it: a page fault while delivering overwrites it, and the shutdown chain reports both.
        ulong cr2AtEvent = _ctx.Cr2;
        for (int attempt = 0; attempt < MaxNestedDeliveries; attempt++)
        {
            if (EventObserver is { } observer)
            {
                observer.OnInterrupt(CaptureEvent(vector, errorCode, EventSource(isException, software), _ctx.Cr2));
            }

            bool delivered = !IsProtectedMode ? TryDeliverReal(vector)
                : IsLongModeActive ? TryDeliverLongMode(vector, errorCode, software, external: !software)
                : TryDeliverProtected(vector, errorCode, software, external: !software);
            if (delivered)
            {
                return;
            }

            // Delivery failed: from here on (rare) the events are recorded for the shutdown report (Cpu.Shutdown.cs).
            if (attempt == 0)
            {
                BeginExceptionChain(vector, errorCode, EventSource(isException, software), cr2AtEvent);
            }

            // Real-mode delivery past the IVT limit sets no pending fault here; it is a #GP (Intel SDM Vol. 2A, INT n,
            // "Real-Address Mode Exceptions"), which becomes the double fault below.
            int second = _faulted || IsProtectedMode ? _faultVector : VectorGeneralProtection;
            int secondError = _faulted || IsProtectedMode ? _faultErrorCode : 0;
            _faulted = false;
            _faultErrorCode = 0;
            AppendToExceptionChain(second, HasErrorCode(second) ? secondError : -1, CpuEventSource.Exception, _ctx.Cr2);
            if (software)
            {
                // A fault while delivering INT n, INT3 or INTO is an exception of that instruction (Intel SDM Vol. 2A,
                // INT n, "Protected Mode Exceptions"): the saved EIP points at it, not past it, and, being a fault, it pushes
                // RF = 1 (Intel SDM Vol. 3B, 17.3.1.1).
                _ctx.Rip = _ctx.InstructionStart;
                PrepareFaultDelivery();
            }

            software = false;
            if (isException && vector == VectorDoubleFault)
            {
                break;
            }

            if (!IsProtectedMode)
            {
                // Real mode: a fault while delivering through the IVT is a double fault.
                vector = VectorDoubleFault;
                errorCode = -1;
                isException = true;
                LastExceptionVector = vector;
                AppendToExceptionChain(vector, errorCode, CpuEventSource.Exception, _ctx.Cr2);
                continue;
            }

            // INT n and external interrupts are benign whatever their vector (Intel SDM Vol. 3A, 6.15, Table 6-4): a fault
            // while delivering them is delivered as itself, never as #DF.
            bool firstContributory = isException && IsContributory(vector);
            bool secondContributory = IsContributory(second);
            bool firstPageFault = isException && vector == VectorPageFault;
            isException = true;
            if ((firstContributory && secondContributory) || (firstPageFault && (secondContributory || second == VectorPageFault)))
            {
                vector = VectorDoubleFault;
                errorCode = 0;
                AppendToExceptionChain(vector, errorCode, CpuEventSource.Exception, _ctx.Cr2);
            }
            else
            {
                vector = second;
                errorCode = HasErrorCode(second) ? secondError : -1;
            }

            LastExceptionVector = vector;
        }

        // Intel SDM Vol. 3A, 6.15, interrupt 8: a fault while delivering #DF shuts the processor down.
        EnterShutdown();
    }

    private static CpuEventSource EventSource(bool isException, bool software) =>
        software ? CpuEventSource.Software : isException ? CpuEventSource.Exception : CpuEventSource.Hardware;

    private static bool IsContributory(int vector) => vector is VectorDivideError or VectorInvalidTss or VectorSegmentNotPresent or VectorStackFault or VectorGeneralProtection;

    /// <summary>The exceptions that push an error code (Intel SDM Vol. 3A, 6.13, Table 6-1): #DF, #TS, #NP, #SS, #GP, #PF, #AC.</summary>
    private static bool HasErrorCode(int vector) => vector is VectorDoubleFault or VectorInvalidTss or VectorSegmentNotPresent or VectorStackFault or VectorGeneralProtection or VectorPageFault or 17;

    /// <summary>
    /// Protected-mode delivery through an interrupt or trap gate to a code segment at the current privilege level
    /// (Intel SDM Vol. 3A, 6.12.1). Returns false with a pending fault.
    /// </summary>
    private bool TryDeliverProtected(int vector, int errorCode, bool software, bool external)
    {
        int ext = external ? 1 : 0;
        int gateError = (vector * 8) + 2 + ext;
        uint entry = (uint)vector * 8;
        if (entry + 7 > _ctx.IdtLimit)
        {
            RaiseFault(VectorGeneralProtection, gateError);
            return false;
        }

        ulong gate = ReadSystem((uint)(_ctx.IdtBase + entry), 8);
        int type = (int)(gate >> 40) & 0x1F;
        if (type is not (0x05 or 0x06 or 0x07 or 0x0E or 0x0F))
        {
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

        if (type == 0x05)
        {
            // Task gate: a nesting task switch (Cpu.TaskSwitch.cs, Intel SDM Vol. 3A, 6.12.2).
            return DeliverThroughTaskGate(gate, errorCode, ext);
        }

        bool gate32 = (type & 8) != 0;
        ushort selector = (ushort)(gate >> 16);
        uint offset = (uint)(gate & 0xFFFF);
        if (gate32)
        {
            offset |= (uint)(gate >> 32) & 0xFFFF0000;
        }

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
        if ((attributes & (AttrSegment | AttrCode)) != (AttrSegment | AttrCode) || dpl > _ctx.Cpl)
        {
            RaiseFault(VectorGeneralProtection, (selector & 0xFFFC) + ext);
            return false;
        }

        if ((attributes & AttrPresent) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, (selector & 0xFFFC) + ext);
            return false;
        }

        bool fromV86 = (_ctx.Eflags & EflagsBits.Vm) != 0;
        if (fromV86 && !IsVirtual8086HandlerSegment(attributes, dpl))
        {
            RaiseFault(VectorGeneralProtection, (selector & 0xFFFC) + ext);
            return false;
        }

        if (offset > SegmentState.FromDescriptor(selector, descriptor).Limit)
        {
            RaiseFault(VectorGeneralProtection, ext);
            return false;
        }

        // Same privilege level: push EFLAGS, CS, EIP and the error code on the current stack, in the gate's size. To an
        // inner level (non-conforming handler with DPL < CPL): first switch to SS:ESP for that level from the TSS and push
        // the old SS:ESP there (Intel SDM Vol. 3A, 6.12.1, Figure 6-4).
        int size = gate32 ? 4 : 2;
        int newCpl = _ctx.Cpl;
        SegmentSnapshot savedSs = SaveSegment(Ss);
        uint savedEsp = (uint)_ctx.Gpr[RegSp];
        uint flags = GetFlags();
        uint sp;
        uint mask;
        if ((attributes & AttrConforming) == 0 && dpl < _ctx.Cpl)
        {
            if (!ReadInnerStack(dpl, ext, out ushort newSs, out uint newEsp, out ulong ssDescriptor, out ulong ssAddress))
            {
                return false;
            }

            ushort oldSs = _ctx.SegSelector[Ss];
            uint oldEsp = StackPointer;
            newCpl = dpl;
            _mmu.SupervisorAccess = true;
            LoadStackSegmentCache(newSs, ssDescriptor, ssAddress);
            mask = StackMask;

            // From virtual-8086 mode GS, FS, DS and ES go first (Intel SDM Vol. 3A, 6.12.1, Figure 6-5; Vol. 2A, INT n).
            sp = fromV86 ? PushVirtual8086DataSegments(newEsp, size, mask) : newEsp;
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, oldSs);
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, oldEsp);
        }
        else
        {
            mask = StackMask;
            sp = StackPointer;
        }

        sp = PushInterruptFrame(sp, mask, size, flags);
        if (!_faulted && errorCode >= 0)
        {
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, (uint)errorCode);
        }

        _mmu.SupervisorAccess = false;
        if (_faulted)
        {
            RestoreSegment(Ss, savedSs);
            _ctx.Gpr[RegSp] = savedEsp;
            return false;
        }

        if (newCpl != _ctx.Cpl)
        {
            // The whole ESP is loaded from the TSS; a 16-bit new stack still only moves SP.
            _ctx.Gpr[RegSp] = _ctx.Stack32 ? sp : (ushort)sp;
        }
        else
        {
            SetStackPointer(sp);
        }

        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, newCpl);
        _ctx.Rip = offset;
        if (fromV86)
        {
            NullDataSegmentsAfterVirtual8086();
        }

        // TF, NT, RF and VM are cleared; an interrupt gate also clears IF (Intel SDM Vol. 3A, 6.12.1.3).
        _ctx.Eflags &= ~(EflagsBits.Tf | EflagsBits.Nt | EflagsBits.Rf | EflagsBits.Vm);
        if ((type & 1) == 0)
        {
            _ctx.Eflags &= ~EflagsBits.If;
        }

        return true;
    }

    /// <summary>Delivers an external interrupt, NMI or exception in the current mode (see <see cref="DeliverEvent"/>).</summary>
    private void DeliverInterrupt(int vector, bool isException) => DeliverEvent(vector, isException, software: false);

    /// <summary>
    /// Delivers through the real-mode IVT (Intel SDM Vol. 3A, 20.1.4): push FLAGS, CS, IP; clear IF, TF and AC; load CS:IP
    /// from the vector. False when the vector is beyond the IVT limit or the pushes fault.
    /// </summary>
    private bool TryDeliverReal(int vector)
    {
        uint entry = (uint)vector * 4;
        if (entry + 3 > _ctx.IdtLimit)
        {
            return false;
        }

        uint sp3 = PushInterruptFrame(StackPointer, StackMask, 2, GetFlags());
        if (_faulted)
        {
            return false;
        }

        ushort ip = (ushort)ReadLinear((uint)(_ctx.IdtBase + entry), 2);
        ushort cs = (ushort)ReadLinear((uint)(_ctx.IdtBase + entry + 2), 2);
        SetStackPointer(sp3);
        _ctx.Eflags &= ~(EflagsBits.If | EflagsBits.Tf | EflagsBits.Ac);
        LoadSegmentReal(Cs, cs);
        _ctx.Rip = ip;
        return true;
    }

    /// <summary>Takes a pending NMI or maskable interrupt if allowed.</summary>
    /// <returns>False when the CPU stays halted.</returns>
    private bool CheckInterrupts()
    {
        if (_nmiPending && !_nmiBlocked)
        {
            _nmiPending = false;
            _nmiBlocked = true;
            _halted = false;
            DeliverInterrupt(VectorNmi, isException: false);
            return true;
        }

        IInterruptController? pic = InterruptController;
        if ((_ctx.Eflags & EflagsBits.If) != 0 && pic is not null && pic.IsInterruptPending)
        {
            byte vector = pic.Acknowledge();
            if (HardwareInterruptHook is { } hook && !hook(vector))
            {
                // Dropped by the host: a halted CPU stays halted, a running one goes on.
                return !_halted;
            }

            _halted = false;
            DeliverInterrupt(vector, isException: false);
            return true;
        }

        return !_halted;
    }

    /// <summary>
    /// Pushes the return frame of an interrupt or exception: the FLAGS image, CS and (E)IP, each <paramref name="size"/>
    /// bytes, from <paramref name="sp"/> down (Intel SDM Vol. 3A, 6.12.1, Figure 6-4; 20.1.4 for real mode). Stops at the
    /// first fault, which stays pending; the caller commits the stack pointer only when none was raised.
    /// </summary>
    /// <returns>The stack pointer below the frame.</returns>
    private uint PushInterruptFrame(uint sp, uint mask, int size, uint flags)
    {
        sp = (sp - (uint)size) & mask;
        WriteMem(Ss, sp, size, flags);
        return _faulted ? sp : PushReturnAddress(sp, mask, size);
    }

    /// <summary>
    /// Pushes CS and (E)IP, each <paramref name="size"/> bytes, from <paramref name="sp"/> down: the return address of a far
    /// CALL and the lower part of an interrupt frame. Stops at the first fault, which stays pending.
    /// </summary>
    /// <returns>The stack pointer below the return address.</returns>
    private uint PushReturnAddress(uint sp, uint mask, int size)
    {
        sp = (sp - (uint)size) & mask;
        WriteMem(Ss, sp, size, _ctx.SegSelector[Cs]);
        if (!_faulted)
        {
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, _ctx.Rip);
        }

        return sp;
    }
}
