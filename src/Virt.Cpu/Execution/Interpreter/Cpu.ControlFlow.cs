using System.Runtime.CompilerServices;
using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Control flow: near and far JMP, CALL and RET, IRET, LOOP/JCXZ (Intel SDM Vol. 2). Protected-mode far transfers are in
/// System/Cpu.FarTransfers.cs, interrupt and exception delivery in System/Cpu.InterruptDelivery.cs.
/// </summary>
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

        uint sp2 = PushReturnAddress(StackPointer, StackMask, size);
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

}
