using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>Jumps, calls, returns, loops, and real-mode interrupt delivery.</summary>
public sealed partial class Cpu
{
    /// <summary>Transfers to <paramref name="target"/> within CS, masked to the operand size; beyond the CS limit it is #GP (Intel SDM Vol. 2A, JMP).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void JumpNear(uint target, int opSize)
    {
        if (opSize == 2)
        {
            target &= 0xFFFF;
        }

        if (target > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        _ctx.Eip = target;
    }

    private void JumpFar(ushort selector, uint offset, int opSize = 4)
    {
        if (IsProtectedNonV86)
        {
            JumpFarProtected(selector, offset, opSize);
            return;
        }

        // Real mode: the new CS keeps its limit; an offset beyond it is #GP.
        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        LoadSegmentReal(Cs, selector);
        _ctx.Eip = offset;
        _exitBlock = true;
    }

    private void ExecuteLoop(ref DecodedInstruction d)
    {
        int addrSize = d.AddrSize;
        ulong count = (ReadRegister(RegCx, addrSize) - 1) & SizeMask(addrSize);
        WriteRegister(RegCx, addrSize, count);
        bool taken = count != 0;
        if (taken && d.Op != Op.Loop)
        {
            bool zf = Condition(4);
            taken = d.Op == Op.Loope ? zf : !zf;
        }

        if (taken)
        {
            JumpNear(_ctx.Eip + d.Imm, d.OpSize);
        }
    }

    private void ExecuteJmpIndirect(ref DecodedInstruction d)
    {
        ulong target = ReadOperand0(ref d, d.OpSize);
        if (!_faulted)
        {
            JumpNear((uint)target, d.OpSize);
        }
    }

    private void ExecuteJmpFarIndirect(ref DecodedInstruction d, bool call)
    {
        int size = d.OpSize;
        uint ea = EffectiveAddress(ref d);
        uint offset = (uint)ReadMem(d.Seg, ea, size);
        uint selectorOffset = ea + (uint)size;
        if (d.AddrSize == 2)
        {
            selectorOffset &= 0xFFFF;
        }

        ushort selector = (ushort)ReadMem(d.Seg, selectorOffset, 2);
        if (_faulted)
        {
            return;
        }

        if (call)
        {
            ExecuteCallFar(ref d, selector, offset);
        }
        else
        {
            JumpFar(selector, offset, size);
        }
    }

    private void ExecuteCallRel(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        uint target = _ctx.Eip + d.Imm;
        if (size == 2)
        {
            target &= 0xFFFF;
        }

        if (target > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        Push(_ctx.Eip, size);
        if (!_faulted)
        {
            _ctx.Eip = target;
        }
    }

    private void ExecuteCallIndirect(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        uint target = (uint)ReadOperand0(ref d, size);
        if (_faulted)
        {
            return;
        }

        if (target > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        Push(_ctx.Eip, size);
        if (!_faulted)
        {
            _ctx.Eip = target;
        }
    }

    private void ExecuteCallFar(ref DecodedInstruction d, ushort selector, uint offset)
    {
        int size = d.OpSize;
        if (IsProtectedNonV86)
        {
            CallFarProtected(selector, offset, size);
            return;
        }

        if (size == 2)
        {
            offset &= 0xFFFF;
        }

        uint sp = StackPointer;
        uint mask = StackMask;
        uint sp1 = (sp - (uint)size) & mask;
        uint sp2 = (sp1 - (uint)size) & mask;
        WriteMem(Ss, sp1, size, _ctx.SegSelector[Cs]);
        if (_faulted)
        {
            return;
        }

        WriteMem(Ss, sp2, size, _ctx.Eip);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer(sp2);
        LoadSegmentReal(Cs, selector);
        _ctx.Eip = offset;
        _exitBlock = true;
    }

    private void ExecuteRetNear(ref DecodedInstruction d)
    {
        int size = d.OpSize;
        uint sp = StackPointer;
        uint target = (uint)ReadMem(Ss, sp, size);
        if (_faulted)
        {
            return;
        }

        if (target > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer((sp + (uint)size + (d.Kind0 == OperandKind.Immediate ? d.Imm : 0)) & StackMask);
        _ctx.Eip = target;
    }

    private void ExecuteRetFar(ref DecodedInstruction d)
    {
        if (IsProtectedNonV86)
        {
            RetFarProtected(ref d);
            return;
        }

        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, size == 4 ? 4 : 2);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer((sp + (uint)(2 * size) + (d.Kind0 == OperandKind.Immediate ? d.Imm : 0)) & mask);
        LoadSegmentReal(Cs, selector);
        _ctx.Eip = offset;
        _exitBlock = true;
    }

    private void ExecuteIret(ref DecodedInstruction d)
    {
        if (InVirtual8086)
        {
            IretFromVirtual8086(ref d);
            return;
        }

        if (IsProtectedNonV86)
        {
            IretProtected(ref d);
            return;
        }

        int size = d.OpSize;
        uint sp = StackPointer;
        uint mask = StackMask;
        uint offset = (uint)ReadMem(Ss, sp, size);
        ushort selector = (ushort)ReadMem(Ss, (sp + (uint)size) & mask, size == 4 ? 4 : 2);
        uint flags = (uint)ReadMem(Ss, (sp + (uint)(2 * size)) & mask, size);
        if (_faulted)
        {
            return;
        }

        if (offset > _ctx.SegLimit[Cs])
        {
            RaiseFault(VectorGeneralProtection);
            return;
        }

        SetStackPointer((sp + (uint)(3 * size)) & mask);
        LoadSegmentReal(Cs, selector);
        _ctx.Eip = offset;
        uint current = GetFlags();

        // Real-mode IRET (Intel SDM Vol. 2A, IRET): VM, VIF, VIP and RF are not loaded from the stack image.
        uint writable = size == 4 ? EflagsBits.Popf32Writable : EflagsBits.Defined16;
        SetFlagsRaw((current & ~writable) | (flags & writable));
        _nmiBlocked = false;
        _exitBlock = true;
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

        uint flags = GetFlags();
        uint sp = StackPointer;
        uint mask = StackMask;
        uint sp1 = (sp - 2) & mask;
        uint sp2 = (sp1 - 2) & mask;
        uint sp3 = (sp2 - 2) & mask;
        WriteMem(Ss, sp1, 2, flags);
        if (!_faulted)
        {
            WriteMem(Ss, sp2, 2, _ctx.SegSelector[Cs]);
        }

        if (!_faulted)
        {
            WriteMem(Ss, sp3, 2, _ctx.Eip);
        }

        if (_faulted)
        {
            return false;
        }

        ushort ip = (ushort)ReadLinear((uint)(_ctx.IdtBase + entry), 2);
        ushort cs = (ushort)ReadLinear((uint)(_ctx.IdtBase + entry + 2), 2);
        SetStackPointer(sp3);
        _ctx.Eflags &= ~(EflagsBits.If | EflagsBits.Tf | EflagsBits.Ac);
        LoadSegmentReal(Cs, cs);
        _ctx.Eip = ip;
        return true;
    }
}
