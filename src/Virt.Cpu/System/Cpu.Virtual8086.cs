using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Virtual-8086 mode (Intel SDM Vol. 3A, chapter 20, 20.2-20.4): entry by IRET from CPL 0, the IOPL-sensitive
/// instructions (CLI, STI, PUSHF, POPF, INT n, IRET), the virtual-mode extensions (CR4.VME: VIF/VIP and the software
/// interrupt redirection bitmap of the TSS) and protected-mode virtual interrupts (CR4.PVI). Interrupt and exception
/// delivery out of virtual-8086 mode lives in <see cref="TryDeliverProtected"/> with the helpers below.
/// </summary>
/// <remarks>
/// Nothing here runs on the interpreter's common path: each entry point is the slow path of one instruction, reached
/// only when EFLAGS.VM is set (or, for CLI/STI, when CPL &gt; IOPL).
/// </remarks>
public sealed partial class Cpu
{

    // The descriptor-cache attributes of every segment in virtual-8086 mode: present, DPL 3, read/write data, accessed,
    // 16-bit (the access rights the SDM requires of virtual-8086 guest state, Vol. 3C, 27.3.1.2: F3h).
    private const ushort V86SegmentAttributes = 0xF3;

    /// <summary>EFLAGS.VM with CR0.PE: the CPU executes virtual-8086 code at CPL 3.</summary>
    private bool InVirtual8086 => (_ctx.Eflags & EflagsBits.Vm) != 0 && (_ctx.Cr0 & Cr0Bits.Pe) != 0;

    private int Iopl => (int)(_ctx.Eflags >> EflagsBits.IoplShift) & 3;

    /// <summary>
    /// Whether CLI and STI operate on VIF instead of faulting: CPL 3 with IOPL &lt; 3, and either virtual-8086 mode with
    /// CR4.VME or protected mode with CR4.PVI (Intel SDM Vol. 2A, CLI; Vol. 2B, STI; Vol. 3A, 20.3.2 and 20.4).
    /// </summary>
    private bool VirtualInterruptFlagActive()
    {
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0 || _ctx.Cpl != 3 || Iopl == 3)
        {
            return false;
        }

        return (_ctx.Cr4 & ((_ctx.Eflags & EflagsBits.Vm) != 0 ? Cr4Bits.Vme : Cr4Bits.Pvi)) != 0;
    }

    /// <summary>CLI: IF when CPL &lt;= IOPL (IOPL = 3 in virtual-8086 mode); VIF under VME/PVI; otherwise #GP(0).</summary>
    private void ExecuteCli()
    {
        if (VirtualInterruptFlagActive())
        {
            _ctx.Eflags &= ~EflagsBits.Vif;
            return;
        }

        if (CheckIopl())
        {
            SetFlag(EflagsBits.If, false);
        }
    }

    /// <summary>STI under VME/PVI sets VIF, unless an interrupt is pending (VIP): then #GP(0) so the monitor can deliver it (Intel SDM Vol. 2B, STI).</summary>
    private void ExecuteStiVirtual()
    {
        if ((_ctx.Eflags & EflagsBits.Vip) != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        _ctx.Eflags |= EflagsBits.Vif;
    }

    /// <summary>
    /// Loads all six segment registers as virtual-8086 mode holds them (base = selector * 16, limit FFFFh, attributes F3h),
    /// sets CPL 3 and the mode bits (16-bit code and stack). Callers set EFLAGS.VM themselves (IRET here; a task switch).
    /// </summary>
    /// <param name="selectors">ES, CS, SS, DS, FS, GS, in segment-register order.</param>
    private void LoadVirtual8086Segments(ReadOnlySpan<ushort> selectors)
    {
        for (int s = 0; s < 6; s++)
        {
            _ctx.SegSelector[s] = selectors[s];
            _ctx.SegBase[s] = (ulong)selectors[s] << 4;
            _ctx.SegLimit[s] = 0xFFFF;
            _ctx.SegAttributes[s] = V86SegmentAttributes;
            RefreshAccessBounds(s);
        }

        OnPrivilegeChange(3);
        _ctx.Cpl = 3;
        UpdateModeBits();
        _exitBlock = true;
    }

    /// <summary>
    /// IRET from CPL 0 with VM = 1 in the popped EFLAGS image (32-bit operand size only): pops ESP, SS, ES, DS, FS and GS
    /// after EIP, CS and EFLAGS, loads every segment real-mode style and resumes at CPL 3 (Intel SDM Vol. 2A, IRET,
    /// "RETURN-TO-VIRTUAL-8086-MODE"). At CPL 0 the whole EFLAGS image is loaded, IOPL, VIF and VIP included.
    /// </summary>
    private void IretToVirtual8086(uint sp, uint mask, uint offset, ushort selector, uint flags)
    {
        Span<uint> rest = stackalloc uint[6];
        for (int i = 0; i < 6; i++)
        {
            rest[i] = (uint)ReadMem(Ss, (sp + (uint)((3 + i) * 4)) & mask, 4);
        }

        if (_faulted)
        {
            return;
        }

        // The pseudo-code keeps only the low 16 bits of EIP (tempEIP AND FFFFh) and the low word of each selector.
        SetFlagsRaw(flags | EflagsBits.Vm);
        LoadVirtual8086Segments([(ushort)rest[2], selector, (ushort)rest[1], (ushort)rest[3], (ushort)rest[4], (ushort)rest[5]]);
        _ctx.Gpr[RegSp] = rest[0];
        _ctx.Rip = offset & 0xFFFF;
        _nmiBlocked = false;
    }

    /// <summary>
    /// IRET in virtual-8086 mode (Intel SDM Vol. 2A, IRET, "RETURN-FROM-VIRTUAL-8086-MODE"): with IOPL = 3 a real-mode
    /// style return that cannot change VM, IOPL, VIF or VIP; with IOPL &lt; 3 and CR4.VME a 16-bit IRET loads the popped IF
    /// into VIF (#GP(0) when the image sets TF, or sets IF while VIP is pending; SDM Vol. 3A, 20.3.2); otherwise #GP(0).
    /// </summary>
    private void IretFromVirtual8086(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        bool iopl3 = Iopl == 3;
        if (!iopl3 && ((_ctx.Cr4 & Cr4Bits.Vme) == 0 || size == 4))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, size);
        uint image = (uint)ReadMem(Ss, (sp + (uint)(2 * size)) & mask, size);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        if (!TryFlagsFromVirtual8086Image(image, size, iopl3, resume: true, out uint flags))
        {
            return;
        }

        SetStackPointer((sp + (uint)(3 * size)) & mask);
        LoadSegmentReal(Cs, selector);
        _ctx.Rip = offset;
        SetFlagsRaw(flags);
        _nmiBlocked = false;
        _exitBlock = true;
    }

    /// <summary>
    /// The EFLAGS an IRET (<paramref name="resume"/>: RF loads too) or POPF in virtual-8086 mode loads from
    /// <paramref name="image"/>. With IOPL = 3, VM, IOPL, VIF and VIP keep their values and everything else defined in the
    /// image's width is loaded; under VME with IOPL &lt; 3, a set TF, or IF set while VIP is pending, is #GP(0) (false),
    /// and IF goes to VIF (Intel SDM Vol. 3A, 20.3, 20.4).
    /// </summary>
    private bool TryFlagsFromVirtual8086Image(uint image, int size, bool iopl3, bool resume, out uint flags)
    {
        uint current = GetFlags();
        if (iopl3)
        {
            uint writable = (size == 4 ? EflagsBits.Popf32Writable | (resume ? EflagsBits.Rf : 0) : EflagsBits.Defined16) & ~EflagsBits.Iopl;
            flags = (current & ~writable) | (image & writable);
            return true;
        }

        if ((image & EflagsBits.Tf) != 0 || ((image & EflagsBits.If) != 0 && (current & EflagsBits.Vip) != 0))
        {
            RaiseFault(VectorGeneralProtection, 0);
            flags = 0;
            return false;
        }

        flags = VirtualFlagsFromImage(current, image);
        return true;
    }

    /// <summary>FLAGS after a 16-bit POPF or IRET under VME with IOPL &lt; 3: IF and IOPL kept, the image's IF goes to VIF.</summary>
    private static uint VirtualFlagsFromImage(uint current, uint image)
    {
        const uint writable = EflagsBits.Defined16 & ~(EflagsBits.Iopl | EflagsBits.If);
        uint flags = (current & ~writable) | (image & writable);
        return (image & EflagsBits.If) != 0 ? flags | EflagsBits.Vif : flags & ~EflagsBits.Vif;
    }

    /// <summary>
    /// PUSHF in virtual-8086 mode (Intel SDM Vol. 2B, PUSHF): as in protected mode with IOPL = 3; with IOPL &lt; 3 and
    /// CR4.VME the 16-bit form pushes FLAGS with VIF in the IF position and IOPL reading 3; otherwise #GP(0).
    /// </summary>
    private void PushfVirtual8086(ref DecodedInstruction d)
    {
        uint flags = GetFlags();
        if (Iopl == 3)
        {
            Push(d.OpSize == 4 ? flags & EflagsBits.PushfdImage : flags & 0xFFFF, d.OpSize);
            return;
        }

        if ((_ctx.Cr4 & Cr4Bits.Vme) == 0 || d.OpSize == 4)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        Push(VirtualFlagsImage(flags), 2);
    }

    /// <summary>The FLAGS image the VME forms of PUSHF and a redirected INT n push: IF replaced by VIF, IOPL = 3.</summary>
    private static uint VirtualFlagsImage(uint flags)
    {
        uint image = (flags & 0xFFFF & ~EflagsBits.If) | EflagsBits.Iopl;
        return (flags & EflagsBits.Vif) != 0 ? image | EflagsBits.If : image;
    }

    /// <summary>
    /// POPF in virtual-8086 mode (Intel SDM Vol. 2B, POPF): with IOPL = 3 every flag but VM, RF, IOPL, VIF and VIP; with
    /// IOPL &lt; 3 and CR4.VME a 16-bit POPF loads the image's IF into VIF (#GP(0) for TF set, or IF set while VIP);
    /// otherwise #GP(0).
    /// </summary>
    private void PopfVirtual8086(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        bool iopl3 = Iopl == 3;
        if (!iopl3 && ((_ctx.Cr4 & Cr4Bits.Vme) == 0 || size == 4))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        uint sp = StackPointer;
        uint image = (uint)ReadMem(Ss, sp, size);
        if (_faulted)
        {
            return;
        }

        if (!TryFlagsFromVirtual8086Image(image, size, iopl3, resume: false, out uint flags))
        {
            return;
        }

        SetStackPointer((sp + (uint)size) & StackMask);
        SetFlagsRaw(flags);
        _exitBlock = true;
    }

    /// <summary>
    /// INT n (opcode CDh only; INT3, INTO and INT1 are not IOPL-sensitive) in virtual-8086 mode, by the six methods of Intel
    /// SDM Vol. 3A, 20.3.3, Table 20-2: without VME, IOPL = 3 goes through the protected-mode IDT and IOPL &lt; 3 is #GP(0);
    /// with VME, a clear bit in the TSS's software interrupt redirection bitmap sends the interrupt through the 8086
    /// program's own vector table at linear 0, and a set bit behaves as without VME.
    /// </summary>
    private void IntVirtual8086(int vector)
    {
        if ((_ctx.Cr4 & Cr4Bits.Vme) != 0)
        {
            if (!ReadRedirectionBit(vector, out bool intercepted))
            {
                return;
            }

            if (!intercepted)
            {
                _softwareInterruptTaken = true;
                RedirectToVirtual8086Handler(vector);
                return;
            }
        }

        if (Iopl != 3)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        DeliverSoftwareInterrupt(vector);
    }

    /// <summary>
    /// Reads bit <paramref name="vector"/> of the software interrupt redirection bitmap, the 32 bytes just below the I/O map
    /// base of the 32-bit TSS (Intel SDM Vol. 3A, 20.3.3, Figure 20-5). A bitmap outside the TSS limit, or a 16-bit TSS,
    /// is #GP(0), as a missing I/O permission bitmap is.
    /// </summary>
    private bool ReadRedirectionBit(int vector, out bool set)
    {
        set = true;
        if (_ctx.TrSelector == 0 || (_ctx.TrAttributes & 0xF) is not (9 or 11) || _ctx.TrLimit < 0x67)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        uint ioMapBase = (uint)ReadSystem(_ctx.TrBase + 0x66, 2);
        uint byteOffset = ioMapBase - 32 + (uint)(vector >> 3);
        if (ioMapBase < 32 || byteOffset > _ctx.TrLimit)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        set = (ReadSystem(_ctx.TrBase + byteOffset, 1) & (1u << (vector & 7))) != 0;
        return !_faulted;
    }

    /// <summary>
    /// A redirected software interrupt (Table 20-2, methods 5 and 6; Vol. 2A, INT n): push FLAGS, CS and IP on the
    /// virtual-8086 stack, clear TF and IF (IOPL = 3) or VIF (IOPL &lt; 3, where the pushed image carries VIF as IF and
    /// IOPL as 3), and load CS:IP from entry n of the vector table at linear address 0.
    /// </summary>
    private void RedirectToVirtual8086Handler(int vector)
    {
        uint entry = (uint)vector * 4;
        ushort ip = (ushort)ReadLinear(entry, 2);
        ushort cs = (ushort)ReadLinear(entry + 2, 2);
        if (_faulted)
        {
            return;
        }

        bool iopl3 = Iopl == 3;
        uint flags = GetFlags();
        uint image = iopl3 ? flags & 0xFFFF : VirtualFlagsImage(flags);
        uint sp3 = PushInterruptFrame(StackPointer, StackMask, 2, image);
        if (_faulted)
        {
            return;
        }

        SetStackPointer(sp3);
        _ctx.Eflags &= ~(EflagsBits.Tf | (iopl3 ? EflagsBits.If : EflagsBits.Vif));
        LoadSegmentReal(Cs, cs);
        _ctx.Rip = ip;
        _exitBlock = true;
    }

    /// <summary>
    /// An interrupt or exception out of virtual-8086 mode must reach a non-conforming code segment of DPL 0 (Intel SDM
    /// Vol. 2A, INT n: "IF new code-segment DPL ≠ 0 THEN #GP" and "interrupt handler must run at CPL 0").
    /// </summary>
    private static bool IsVirtual8086HandlerSegment(ushort attributes, int dpl) => (attributes & AttrConforming) == 0 && dpl == 0;

    /// <summary>
    /// The first pushes of INTERRUPT-FROM-VIRTUAL-8086-MODE on the level-0 stack: GS, FS, DS, ES, each in the gate's size
    /// (zero-extended for 32-bit gates). Returns the new stack offset.
    /// </summary>
    private uint PushVirtual8086DataSegments(uint sp, int size, uint mask)
    {
        ReadOnlySpan<int> order = [5, 4, Ds, Es]; // GS, FS, DS, ES
        foreach (int s in order)
        {
            sp = (sp - (uint)size) & mask;
            WriteMem(Ss, sp, size, _ctx.SegSelector[s]);
        }

        return sp;
    }

    /// <summary>After delivery out of virtual-8086 mode DS, ES, FS and GS hold null selectors (unusable in protected mode).</summary>
    private void NullDataSegmentsAfterVirtual8086()
    {
        ReadOnlySpan<int> order = [Es, Ds, 4, 5];
        foreach (int s in order)
        {
            _ctx.SegSelector[s] = 0;
            _ctx.SegBase[s] = 0;
            _ctx.SegLimit[s] = 0;
            _ctx.SegAttributes[s] = 0;
            RefreshAccessBounds(s);
        }
    }
}
