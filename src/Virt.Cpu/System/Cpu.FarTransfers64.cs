namespace Virt.Cpu;

/// <summary>
/// Far JMP and CALL in IA-32e mode (64-bit and compatibility mode): the 16-byte 64-bit call gates, the stack switch of a
/// CALL to a more privileged level through the 64-bit TSS, and the 64-bit pushes of a far CALL from 64-bit mode (Intel SDM
/// Vol. 3A, 5.8.3.1 and 5.8.6; Vol. 2A, CALL and JMP, "IA-32e mode").
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The 64-bit call-gate type (the number the 32-bit call gate has in legacy mode, Intel SDM Vol. 3A, Table 3-2).</summary>
    private const int CallGate64Type = 0xC;

    /// <summary>
    /// Bits 12:8 of the upper doubleword of a 64-bit call gate's second half: its type field, which must be 0 so that the
    /// second half cannot be taken for a descriptor of its own (Intel SDM Vol. 3A, 5.8.3.1, Figure 5-9).
    /// </summary>
    private const ulong CallGateUpperTypeMask = 0x1FUL << 40;

    /// <summary>The selector index bits of the last descriptor a table can hold (a 16-byte descriptor cannot start there).</summary>
    private const int LastDescriptorIndex = 0xFFF8;

    /// <summary>The bytes a CALL through a 64-bit call gate to a more privileged level pushes: SS, RSP, CS, RIP.</summary>
    private const int CallGate64InnerFrameBytes = 32;

    /// <summary>
    /// The offset of a far pointer for its operand size: 16 bits with 66h, 32 by default, 64 with REX.W (m16:64, 64-bit mode
    /// only; Intel SDM Vol. 2A, JMP and CALL, FF /5 and FF /3).
    /// </summary>
    private static ulong FarOperandOffset(ulong offset, int opSize) => opSize switch
    {
        2 => offset & 0xFFFF,
        4 => (uint)offset,
        _ => offset,
    };

    /// <summary>
    /// The system-descriptor branch of a far JMP or CALL in IA-32e mode (Intel SDM Vol. 2A, CALL and JMP; Vol. 3A, 5.8.3.1):
    /// only a 64-bit call gate is allowed (task gates and TSS descriptors are #GP(selector): there are no task switches). The
    /// gate takes 16 bytes whose second half must have type 0; its target must be a 64-bit code segment (L = 1, D = 0) and
    /// its offset is 64 bits. On success <paramref name="selector"/>, <paramref name="offset"/>, <paramref name="descriptor"/>
    /// and <paramref name="address"/> describe the target code segment. Returns false with a pending fault.
    /// </summary>
    private bool ResolveLongModeCallGate(ref ushort selector, ref ulong offset, bool call, ref ulong descriptor, ref ulong address, out int newCpl, out ulong gate)
    {
        newCpl = _ctx.Cpl;
        gate = 0;
        int errorCode = selector & 0xFFFC;
        int type = (int)(descriptor >> 40) & 0x1F;
        if (type != CallGate64Type)
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        // The gate's DPL must be >= CPL and >= RPL; then the gate must be present.
        int gateDpl = DescriptorDpl(descriptor);
        if (gateDpl < _ctx.Cpl || gateDpl < (selector & 3))
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        // The second half: within the table limit (the last index has none), with a zero type field.
        if ((selector & LastDescriptorIndex) == LastDescriptorIndex
            || !TryReadDescriptor((ushort)(selector + 8), out ulong upper, out _) || (upper & CallGateUpperTypeMask) != 0)
        {
            RaiseFault(VectorGeneralProtection, errorCode);
            return false;
        }

        if ((descriptor & (1UL << 47)) == 0)
        {
            RaiseFault(VectorSegmentNotPresent, errorCode);
            return false;
        }

        ushort target = (ushort)(descriptor >> 16);
        ulong targetOffset = (descriptor & 0xFFFF) | ((descriptor >> 32) & 0xFFFF_0000) | ((upper & 0xFFFF_FFFF) << 32);
        if ((target & 0xFFFC) == 0)
        {
            RaiseFault(VectorGeneralProtection, 0);
            return false;
        }

        if (!TryReadDescriptor(target, out ulong targetDescriptor, out ulong targetAddress))
        {
            RaiseFault(VectorGeneralProtection, target & 0xFFFC);
            return false;
        }

        // The target must be a 64-bit code segment (Intel SDM Vol. 2A, CALL: "IF IA32_EFER.LMA = 1 AND (code-segment
        // descriptor is not a 64-bit code segment or has both L and D set) THEN #GP(code segment selector)").
        ushort attributes = DescriptorAttributes(targetDescriptor);
        if ((attributes & SegmentState.LongModeBit) == 0 || (attributes & SegmentState.DefaultBigBit) != 0)
        {
            RaiseFault(VectorGeneralProtection, target & 0xFFFC);
            return false;
        }

        if (!CheckCodeDescriptor(target, targetDescriptor, viaGate: true, call, out newCpl))
        {
            return false;
        }

        gate = descriptor;
        selector = target;
        offset = targetOffset;
        descriptor = targetDescriptor;
        address = targetAddress;
        return true;
    }

    /// <summary>
    /// A far CALL from 64-bit mode to the same privilege level, directly to a code segment: CS and RIP are pushed with the
    /// operand size (CS zero-extended to a slot of that size) on the stack addressed by all of RSP (Intel SDM Vol. 2A, CALL,
    /// "OperandSize = 64: Push(CS) padded with 48 high-order bits; Push(RIP)").
    /// </summary>
    private void CallFarSamePrivilege64(ushort selector, ulong descriptor, ulong address, ulong offset, int size)
    {
        ulong rsp = _ctx.Gpr[RegSp];
        ulong frameSize = (ulong)(2 * size);
        if (!IsCanonical(rsp - frameSize))
        {
            RaiseFault(VectorStackFault, 0);
            return;
        }

        WriteMem(Ss, rsp - (ulong)size, size, _ctx.SegSelector[Cs]);
        WriteMem(Ss, rsp - frameSize, size, _ctx.Rip);
        if (_faulted)
        {
            return;
        }

        _ctx.Gpr[RegSp] = rsp - frameSize;
        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, _ctx.Cpl);
        _ctx.Rip = offset;
    }

    /// <summary>
    /// A far CALL through a 64-bit call gate (Intel SDM Vol. 3A, 5.8.6, Figure 5-14; Vol. 2A, CALL, "CallGateSize = 64"). To
    /// the same level it pushes CS and RIP as 8-byte values. To a more privileged level it takes RSPn of the new CPL from the
    /// 64-bit TSS (#TS(TSS selector) beyond the TSS limit), loads SS with the null selector whose RPL is the new CPL, and
    /// pushes the old SS, RSP, CS and RIP as 8-byte values; parameters are never copied. Stack addresses that are not
    /// canonical are #SS(0). The target, a 64-bit code segment, runs in 64-bit mode.
    /// </summary>
    private void CallGate64(ushort selector, ulong descriptor, ulong address, ulong offset, int newCpl)
    {
        ulong oldSs = _ctx.SegSelector[Ss];
        ulong oldRsp = _ctx.Gpr[RegSp];
        ulong oldCs = _ctx.SegSelector[Cs];
        ulong oldRip = _ctx.Rip;
        bool inner = newCpl < _ctx.Cpl;
        bool from64 = _ctx.Code64;
        ulong stackMask = StackMask;
        ulong rsp;
        if (inner)
        {
            uint tssOffset = Tss64Rsp0Offset + ((uint)newCpl * 8);
            if (tssOffset + 7 > _ctx.TrLimit)
            {
                RaiseFault(VectorInvalidTss, _ctx.TrSelector & 0xFFFC);
                return;
            }

            rsp = ReadSystem(_ctx.TrBase + tssOffset, 8);
            if (_faulted)
            {
                return;
            }
        }
        else
        {
            // From compatibility mode the return address goes on the stack as the current stack size addresses it.
            rsp = from64 ? oldRsp : StackPointer;
        }

        int count = inner ? CallGate64InnerFrameBytes / 8 : 2;
        ulong frameBase = rsp - ((ulong)count * 8);
        if (!IsCanonical(rsp) || !IsCanonical(frameBase))
        {
            RaiseFault(VectorStackFault, 0);
            return;
        }

        Span<ulong> frame = [oldSs, oldRsp, oldCs, oldRip];
        Span<ulong> pushed = inner ? frame : frame[2..];

        // The pushes are supervisor accesses when the target runs at CPL 0-2 (Intel SDM Vol. 3A, 4.6). Through the segment
        // in 64-bit mode or compatibility mode at the same level; to an inner level SS is null and its base 0.
        bool savedSupervisor = _mmu.SupervisorAccess;
        _mmu.SupervisorAccess = newCpl < 3;
        ulong sp = rsp;
        for (int i = 0; i < pushed.Length && !_faulted; i++)
        {
            sp -= 8;
            if (inner)
            {
                WriteLinear(sp, 8, pushed[i]);
            }
            else
            {
                WriteMem(Ss, from64 ? sp : sp & stackMask, 8, pushed[i]);
            }
        }

        _mmu.SupervisorAccess = savedSupervisor;
        if (_faulted)
        {
            return;
        }

        if (inner)
        {
            LoadNullStackSegment64(newCpl);
        }

        SetAccessed(address, ref descriptor);
        LoadCodeSegment(selector, descriptor, newCpl);
        _ctx.Gpr[RegSp] = inner || from64 ? sp : (oldRsp & ~(ulong)stackMask) | (sp & stackMask);
        _ctx.Rip = offset;
    }
}
