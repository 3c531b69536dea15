using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Protected-mode segmentation: descriptor tables (GDTR, IDTR, LDTR, TR), descriptor fetch and the checks of every
/// segment-register load (Intel SDM Vol. 3A, chapters 3 and 5; Vol. 2, MOV/POP/LDS/LLDT/LTR).
/// </summary>
public sealed partial class Cpu
{
    private const int VectorInvalidTss = 10;
    private const int VectorSegmentNotPresent = 11;
    private const int VectorPageFault = 14;

    // Descriptor attribute bits as the CPU keeps them (descriptor bits 40-55 shifted down by 40).
    private const ushort AttrAccessed = 0x01;
    private const ushort AttrWritable = 0x02; // data: writable; code: readable
    private const ushort AttrConforming = 0x04; // code: conforming; data: expand-down
    private const ushort AttrCode = 0x08;
    private const ushort AttrSegment = 0x10; // S: code or data (0: system)
    private const ushort AttrPresent = 0x80;

    // One past the last offset the fast segment check accepts for reads and for writes; 0 sends every access to the slow path.

    private int _faultErrorCode;

    /// <summary>GDTR base (linear address of the global descriptor table).</summary>
    public ulong GdtBase
    {
        get => _ctx.GdtBase;
        set => _ctx.GdtBase = value;
    }

    /// <summary>GDTR limit (the last valid byte offset of the table).</summary>
    public ushort GdtLimit
    {
        get => _ctx.GdtLimit;
        set => _ctx.GdtLimit = value;
    }

    /// <summary>IDTR base (linear address of the interrupt descriptor table, or of the IVT in real mode).</summary>
    public ulong IdtBase
    {
        get => _ctx.IdtBase;
        set => _ctx.IdtBase = value;
    }

    /// <summary>IDTR limit (the last valid byte offset of the table).</summary>
    public ushort IdtLimit
    {
        get => _ctx.IdtLimit;
        set => _ctx.IdtLimit = value;
    }

    /// <summary>The LDTR: its selector and descriptor cache (attributes are those of the LDT descriptor).</summary>
    public SegmentState Ldtr => new(_ctx.LdtSelector, _ctx.LdtBase, _ctx.LdtLimit, _ctx.LdtSelector == 0 ? (ushort)0 : (ushort)0x82);

    /// <summary>The task register: its selector and descriptor cache.</summary>
    public SegmentState TaskRegister => new(_ctx.TrSelector, _ctx.TrBase, _ctx.TrLimit, _ctx.TrAttributes);

    /// <summary>
    /// Loads a segment register from a raw 8-byte descriptor as a protected-mode load would, without checks and without
    /// touching guest memory (for hosts and boot loaders that enter protected mode directly).
    /// </summary>
    /// <param name="segment">The segment register.</param>
    /// <param name="selector">The selector.</param>
    /// <param name="descriptor">The descriptor, as stored in the GDT or LDT.</param>
    public void LoadSegmentFromDescriptor(SegmentRegister segment, ushort selector, ulong descriptor)
    {
        SetSegment(segment, SegmentState.FromDescriptor(selector, descriptor));
        if (segment == SegmentRegister.Cs && IsProtectedMode)
        {
            _ctx.Cpl = selector & 3;
        }
    }

    private bool IsProtectedNonV86 => (_ctx.Cr0 & Cr0Bits.Pe) != 0 && (_ctx.Eflags & EflagsBits.Vm) == 0;

    /// <summary>Raises a fault that pushes an error code (Intel SDM Vol. 3A, 6.13).</summary>
    private void RaiseFault(int vector, int errorCode)
    {
        if (!_faulted)
        {
            _faulted = true;
            _faultVector = vector;
            _faultErrorCode = errorCode;
        }

        _exitBlock = true;
    }

    /// <summary>Fetches the descriptor a selector names from the GDT or LDT; false when the index is beyond the table limit.</summary>
    private bool TryReadDescriptor(ushort selector, out ulong descriptor, out ulong address)
    {
        uint index = (uint)(selector & 0xFFF8);
        ulong tableBase;
        uint tableLimit;
        if ((selector & 4) != 0)
        {
            tableBase = _ctx.LdtBase;
            tableLimit = _ctx.LdtSelector == 0 ? 0 : _ctx.LdtLimit;
            if (_ctx.LdtSelector == 0)
            {
                descriptor = 0;
                address = 0;
                return false;
            }
        }
        else
        {
            tableBase = _ctx.GdtBase;
            tableLimit = _ctx.GdtLimit;
        }

        if (index + 7 > tableLimit)
        {
            descriptor = 0;
            address = 0;
            return false;
        }

        // Descriptor-table bases are 64-bit linear addresses in IA-32e mode.
        address = IsLongModeActive ? tableBase + index : (uint)(tableBase + index);
        descriptor = ReadSystem(address, 8);
        return true;
    }

    /// <summary>
    /// In IA-32e mode, LDT and TSS descriptors are 16 bytes: bits 63:32 of the base are in the next 8 bytes, whose type field
    /// must be 0 (Intel SDM Vol. 3A, 8.2.3 and Figure 8-4). Returns false (the caller raises #GP) when the upper half is
    /// beyond the table or malformed, or the base is not canonical; outside IA-32e mode the base is as the 8 bytes give it.
    /// </summary>
    private bool TryReadSystemDescriptorBase(ushort selector, ulong address, ulong descriptor, out ulong baseAddress)
    {
        baseAddress = SegmentState.FromDescriptor(selector, descriptor).Base;
        if (!IsLongModeActive)
        {
            return true;
        }

        if ((uint)(selector & 0xFFF8) + 15 > _ctx.GdtLimit)
        {
            return false;
        }

        ulong upper = ReadSystem(address + 8, 8);
        if (((upper >> 40) & 0x1F) != 0)
        {
            return false;
        }

        baseAddress |= upper << 32;
        return IsCanonical(baseAddress);
    }

    /// <summary>Sets the accessed bit of a code or data descriptor in memory (Intel SDM Vol. 3A, 3.4.5.1).</summary>
    private void SetAccessed(ulong address, ref ulong descriptor)
    {
        if ((descriptor & (1UL << 40)) == 0)
        {
            descriptor |= 1UL << 40;
            WriteSystem(address + 5, 1, (byte)(descriptor >> 40));
        }
    }

    private static ushort DescriptorAttributes(ulong descriptor) => (ushort)((descriptor >> 40) & 0xF0FF);

    private static int DescriptorDpl(ulong descriptor) => (int)(descriptor >> 45) & 3;

    /// <summary>Loads a data or stack segment register by the rules of the current mode; false (with a pending fault) when refused.</summary>
    private bool LoadSegment(int segment, ushort selector)
    {
        if (!IsProtectedNonV86)
        {
            LoadSegmentReal(segment, selector);
            return true;
        }

        return LoadSegmentProtected(segment, selector);
    }

    /// <summary>MOV/POP/LxS to DS, ES, FS, GS or SS in protected mode (Intel SDM Vol. 2B, MOV, "IF SS is loaded" and "IF DS, ES, FS, or GS is loaded").</summary>
    private bool LoadSegmentProtected(int segment, ushort selector)
    {
        int errorCode = selector & 0xFFFC;
        if ((selector & 0xFFFC) == 0)
        {
            if (segment == Ss && _ctx.Code64 && _ctx.Cpl < 3 && (selector & 3) == _ctx.Cpl)
            {
                // 64-bit mode allows a null SS at CPL 0-2 with RPL = CPL (Intel SDM Vol. 2B, MOV, 64-bit mode exceptions).
                LoadNullStackSegment64(_ctx.Cpl);
                return true;
            }

            if (segment == Ss)
            {
                RaiseFault(VectorGeneralProtection, 0);
                return false;
            }

            // A null selector loads an unusable segment; accessing it raises #GP(0) (Intel SDM Vol. 3A, 3.4.2).
            _ctx.SegSelector[segment] = selector;
            _ctx.SegBase[segment] = 0;
            _ctx.SegLimit[segment] = 0;
            _ctx.SegAttributes[segment] = 0;
            RefreshAccessBounds(segment);
            return true;
        }

        if (!TryReadDescriptor(selector, out ulong descriptor, out ulong address))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        ushort attributes = DescriptorAttributes(descriptor);
        int dpl = DescriptorDpl(descriptor);
        int rpl = selector & 3;
        if (segment == Ss)
        {
            // SS: RPL = CPL, DPL = CPL, writable data segment.
            if (rpl != _ctx.Cpl || dpl != _ctx.Cpl || (attributes & (AttrSegment | AttrCode | AttrWritable)) != (AttrSegment | AttrWritable))
            {
                RaiseFault(VectorGeneralProtection, errorCode);
                return false;
            }

            if ((attributes & AttrPresent) == 0)
            {
                RaiseFault(VectorStackFault, errorCode);
                return false;
            }
        }
        else
        {
            // Data segment or readable code segment; unless conforming code, both RPL and CPL must be <= DPL.
            bool code = (attributes & AttrCode) != 0;
            if ((attributes & AttrSegment) == 0 || (code && (attributes & AttrWritable) == 0))
            {
                RaiseFault(VectorGeneralProtection, errorCode);
                return false;
            }

            bool conformingCode = code && (attributes & AttrConforming) != 0;
            if (!conformingCode && (rpl > dpl || _ctx.Cpl > dpl))
            {
                RaiseFault(VectorGeneralProtection, errorCode);
                return false;
            }

            if ((attributes & AttrPresent) == 0)
            {
                RaiseFault(VectorSegmentNotPresent, errorCode);
                return false;
            }
        }

        SetAccessed(address, ref descriptor);
        SegmentState state = SegmentState.FromDescriptor(selector, descriptor);
        _ctx.SegSelector[segment] = selector;
        _ctx.SegBase[segment] = state.Base;
        _ctx.SegLimit[segment] = state.Limit;
        _ctx.SegAttributes[segment] = state.Attributes;
        RefreshAccessBounds(segment);
        if (segment == Ss)
        {
            UpdateModeBits();
        }

        return true;
    }

    /// <summary>Loads CS from a checked code descriptor with RPL = CPL (Intel SDM Vol. 3A, 5.8.1).</summary>
    private void LoadCodeSegment(ushort selector, ulong descriptor, int cpl)
    {
        SegmentState state = SegmentState.FromDescriptor(selector, descriptor);
        _ctx.SegSelector[Cs] = (ushort)((selector & 0xFFFC) | cpl);
        _ctx.SegBase[Cs] = state.Base;
        _ctx.SegLimit[Cs] = state.Limit;
        _ctx.SegAttributes[Cs] = state.Attributes;
        RefreshAccessBounds(Cs);
        OnPrivilegeChange(cpl);
        _ctx.Cpl = cpl;
        UpdateModeBits();
        _exitBlock = true;
    }

    private void ExecuteLldt(ref DecodedInstruction d)
    {
        if (!CheckSystemInstruction(privileged: true))
        {
            return;
        }

        ushort selector = (ushort)ReadOperand0(ref d, 2);
        if (_faulted)
        {
            return;
        }

        if ((selector & 0xFFFC) == 0)
        {
            _ctx.LdtSelector = 0;
            _ctx.LdtBase = 0;
            _ctx.LdtLimit = 0;
            return;
        }

        // LLDT: the selector must name an LDT descriptor (type 2) in the GDT (Intel SDM Vol. 2A, LLDT).
        if ((selector & 4) != 0 || !TryReadDescriptor(selector, out ulong descriptor, out _)
            || (descriptor & (0x1FUL << 40)) != (2UL << 40))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return;
        }

        if ((descriptor & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, selector & 0xFFFC);
            return;
        }

        SegmentState state = SegmentState.FromDescriptor(selector, descriptor);
        if (!TryReadSystemDescriptorBase(selector, (uint)(selector & 0xFFF8) + _ctx.GdtBase, descriptor, out ulong ldtBase))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return;
        }

        _ctx.LdtSelector = selector;
        _ctx.LdtBase = ldtBase;
        _ctx.LdtLimit = state.Limit;
    }

    private void ExecuteLtr(ref DecodedInstruction d)
    {
        if (!CheckSystemInstruction(privileged: true))
        {
            return;
        }

        ushort selector = (ushort)ReadOperand0(ref d, 2);
        if (_faulted)
        {
            return;
        }

        if ((selector & 0xFFFC) == 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return;
        }

        // LTR: an available 16- or 32-bit TSS (type 1 or 9) in the GDT; marks it busy (Intel SDM Vol. 2A, LTR).
        int type = 0;
        if ((selector & 4) == 0 && TryReadDescriptor(selector, out ulong descriptor, out ulong address))
        {
            type = (int)(descriptor >> 40) & 0x1F;
        }
        else
        {
            descriptor = 0;
            address = 0;
        }

        // In IA-32e mode only the 64-bit TSS (type 9, "available 64-bit TSS") exists (Intel SDM Vol. 3A, 8.7).
        if (type is not (1 or 9) || (IsLongModeActive && type != 9))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return;
        }

        if ((descriptor & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, selector & 0xFFFC);
            return;
        }

        if (!TryReadSystemDescriptorBase(selector, address, descriptor, out ulong tssBase))
        {
            RaiseFault(VectorGeneralProtection, selector & 0xFFFC);
            return;
        }

        descriptor |= 2UL << 40;
        WriteSystem(address + 5, 1, (byte)(descriptor >> 40));
        SegmentState state = SegmentState.FromDescriptor(selector, descriptor);
        _ctx.TrSelector = selector;
        _ctx.TrBase = tssBase;
        _ctx.TrLimit = state.Limit;
        _ctx.TrAttributes = state.Attributes;
    }

    private void ExecuteStoreSystemSelector(ref DecodedInstruction d, ushort value)
    {
        if (!CheckSystemInstruction(privileged: false))
        {
            return;
        }

        // SLDT/STR: a 32-bit register destination receives the selector zero-extended; memory is always 16 bits.
        if (d.Kind0 == OperandKind.Register)
        {
            WriteRegister(d.Reg0, d.OpSize, value);
        }
        else
        {
            WriteOperand0(ref d, 2, value);
        }
    }

    /// <summary>The descriptor-table instructions that exist only in protected mode raise #UD in real and virtual-8086 mode; the privileged ones #GP(0) at CPL &gt; 0.</summary>
    private bool CheckSystemInstruction(bool privileged)
    {
        if (!IsProtectedNonV86)
        {
            RaiseFault(VectorInvalidOpcode);
            return false;
        }

        if (privileged && _ctx.Cpl != 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        return true;
    }

    private void RefreshAllAccessBounds()
    {
        for (int s = 0; s < 6; s++)
        {
            RefreshAccessBounds(s);
        }
    }

    /// <summary>Recomputes the fast-path bounds of a segment from its cache and the mode.</summary>
    private void RefreshAccessBounds(int segment)
    {
        ulong end = (ulong)_ctx.SegLimit[segment] + 1;
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0)
        {
            // Real mode: the limit alone (the cached type is not checked).
            _ctx.SegReadEnd[segment] = end;
            _ctx.SegWriteEnd[segment] = end;
            return;
        }

        ushort attributes = _ctx.SegAttributes[segment];
        bool usable = (attributes & (AttrPresent | AttrSegment)) == (AttrPresent | AttrSegment);
        bool code = (attributes & AttrCode) != 0;
        bool expandDown = !code && (attributes & AttrConforming) != 0;
        if (!usable || expandDown)
        {
            _ctx.SegReadEnd[segment] = 0;
            _ctx.SegWriteEnd[segment] = 0;
            return;
        }

        _ctx.SegReadEnd[segment] = !code || (attributes & AttrWritable) != 0 ? end : 0;
        _ctx.SegWriteEnd[segment] = !code && (attributes & AttrWritable) != 0 ? end : 0;
    }

    /// <summary>
    /// The slow segment check: limits in real mode, and in protected mode unusable (null) segments, execute-only code,
    /// read-only data, writes to code, and expand-down segments, whose valid offsets run from limit + 1 to FFFFh or
    /// FFFFFFFFh by the B bit (Intel SDM Vol. 3A, 3.4.5.1 and 5.3). Faults are #SS(0) for SS and #GP(0) otherwise.
    /// </summary>
    private bool CheckAccessSlow(int segment, uint offset, int size, bool write)
    {
        if (_ctx.Code64)
        {
            // 64-bit mode does no limit or type checks (Intel SDM Vol. 3A, 3.2.4 and 5.3.1): block accesses (FXSAVE,
            // FNSTENV, 16-byte SIMD operands) that check the whole range first must not apply the 32-bit limit or fault on
            // a null DS at a 64-bit offset; the access itself checks the canonical form.
            return true;
        }

        int vector = segment == Ss ? VectorStackFault : VectorGeneralProtection;
        ulong last = (ulong)offset + (uint)(size - 1);
        if ((_ctx.Cr0 & Cr0Bits.Pe) == 0)
        {
            if (last > _ctx.SegLimit[segment])
            {
                RaiseFault(vector);
                return false;
            }

            return true;
        }

        ushort attributes = _ctx.SegAttributes[segment];
        bool code = (attributes & AttrCode) != 0;
        if ((attributes & (AttrPresent | AttrSegment)) != (AttrPresent | AttrSegment)
            || (write && (code || (attributes & AttrWritable) == 0))
            || (!write && code && (attributes & AttrWritable) == 0))
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        if (!code && (attributes & AttrConforming) != 0)
        {
            ulong upper = (attributes & SegmentState.DefaultBigBit) != 0 ? 0xFFFF_FFFFUL : 0xFFFFUL;
            if (offset <= _ctx.SegLimit[segment] || last > upper)
            {
                RaiseFault(vector, 0);
                return false;
            }

            return true;
        }

        if (last > _ctx.SegLimit[segment])
        {
            RaiseFault(vector, 0);
            return false;
        }

        return true;
    }
}
