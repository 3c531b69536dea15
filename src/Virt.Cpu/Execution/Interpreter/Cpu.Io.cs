using Virt.Cpu.Decoding;

namespace Virt.Cpu;

/// <summary>
/// Port I/O: IN and OUT (INS and OUTS are string instructions, in Cpu.Strings.cs). Each access first checks IOPL and the
/// TSS I/O permission bitmap (Cpu.Privilege.cs) and the I/O breakpoints, then calls the port-access clock hook so that a
/// device sees the time of the access (see <see cref="IPortAccessClock"/>).
/// </summary>
public sealed partial class Cpu
{
    private void ExecuteIn(ref DecodedInstruction d)
    {
        ushort port = d.Kind1 == OperandKind.Immediate ? (ushort)d.Imm : (ushort)_ctx.Gpr[RegDx];
        if (!CheckIoPermission(port, d.OpSize))
        {
            return;
        }

        _portAccessClock?.BeforePortAccess();
        WriteRegister(RegAx, d.OpSize, _ports.Read(port, d.OpSize));
        _exitBlock = true;
    }

    private void ExecuteOut(ref DecodedInstruction d)
    {
        ushort port = d.Kind0 == OperandKind.Immediate ? (ushort)d.Imm : (ushort)_ctx.Gpr[RegDx];
        if (!CheckIoPermission(port, d.OpSize))
        {
            return;
        }

        _portAccessClock?.BeforePortAccess();
        _ports.Write(port, d.OpSize, (uint)ReadRegister(RegAx, d.OpSize));
        _exitBlock = true;
    }
}
